"""Personal data stays out of logs: numbers and names are masked before they are written."""

from __future__ import annotations


def mask_phone(number: str | None) -> str:
    """`+48601234567` → `+486******67`: enough to tell two calls apart, not enough to dial."""
    if not number:
        return "-"
    keep_head = 4 if number.startswith("+") else 3
    if len(number) <= keep_head + 2:
        return "*" * len(number)
    return number[:keep_head] + "*" * (len(number) - keep_head - 2) + number[-2:]


def mask_name(name: str | None) -> str:
    """`Anna Nowak` → `A*** N****`."""
    if not name:
        return "-"
    return " ".join(part[:1] + "*" * (len(part) - 1) for part in name.split())


def mask_email(email: str | None) -> str:
    """`anna@example.pl` → `a***@e******.pl`: the top-level domain stays, a person's own domain
    does not."""
    if not email:
        return "-"
    local, _, domain = email.partition("@")
    labels = domain.split(".")
    masked = [part[:1] + "*" * (len(part) - 1) for part in labels[:-1]] + labels[-1:]
    return (local[:1] + "*" * (len(local) - 1)) + ("@" + ".".join(masked) if domain else "")
