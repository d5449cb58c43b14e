"""Turn a phone as the store wrote it into a row of the lookup index."""

from __future__ import annotations

from typing import Any

from app.kit.phones import NumberKind, normalise


def digits_reversed(digits: str) -> str:
    return digits[::-1]


def owner_phone_rows(
    phones: list[tuple[str, str]],
    region: str,
    *,
    customer_id: int | None = None,
    order_id: int | None = None,
) -> list[dict[str, Any]]:
    """Index rows for one customer's or order's phones, given as (raw, source). The same number
    written twice (billing and shipping, say) becomes one row whose source names both, which keeps
    the index small without losing what the card reports as `matched_on`."""
    merged: dict[str, dict[str, Any]] = {}
    for raw, source in phones:
        row = phone_row(raw, source, region, customer_id=customer_id, order_id=order_id)
        if row is None:
            continue
        key = row["e164"] or row["reversed_digits"]
        if key in merged:
            sources = merged[key]["source"].split(",")
            if source not in sources:
                merged[key]["source"] = ",".join([*sources, source])[:100]
        else:
            merged[key] = row
    return list(merged.values())


def phone_row(
    raw: str,
    source: str,
    region: str,
    *,
    customer_id: int | None = None,
    order_id: int | None = None,
) -> dict[str, Any] | None:
    """The index row for one stored phone, or None when there is nothing to match on.

    A number that does not parse is still kept by its digits (seven or more), so that a
    guarded suffix match can find a phone the store saved without its country code."""
    number = normalise(raw, region)
    if number.kind is NumberKind.E164 and number.e164 is not None:
        return {
            "customer_id": customer_id,
            "order_id": order_id,
            "source": source,
            "raw": raw[:64],
            "e164": number.e164,
            "national": number.national,
            "reversed_digits": digits_reversed(number.e164[1:]),
            "country_code": int(number.e164[1 : len(number.e164) - len(number.national or "")] or 0) or None,
        }
    digits = "".join(ch for ch in raw if ch.isdigit())
    if number.kind is NumberKind.INVALID and len(digits) >= 7:
        return {
            "customer_id": customer_id,
            "order_id": order_id,
            "source": source,
            "raw": raw[:64],
            "e164": None,
            "national": None,
            "reversed_digits": digits_reversed(digits[:32]),
            "country_code": None,
        }
    return None
