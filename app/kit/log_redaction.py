"""What a log line may not carry, taken out before it is written: secrets become `***`, phone
numbers, emails and searched names are masked (app/kit/masking.py's masks).

Two tools: `redact_target` understands a request's path and query string (access lines), and
`scrub_text` works on free text (third-party messages, tracebacks) where only shapes can be
recognised."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from app.kit.masking import mask_email, mask_name, mask_phone

REDACTED = "***"

# Query parameters whose values say how a list is cut or which call a PBX means: kept (still
# checked for phone and email shapes). Every other value is masked, so a parameter added later
# cannot start leaking a name because nobody listed it.
KEPT_PARAMS = frozenset(
    {"state", "todo", "since", "until", "limit", "offset", "cursor", "before", "after", "ascii", "max_length"}
    | {"page"}
    # /pbx/event: what happened to the call, never who called.
    | {"event", "cause", "billsec", "duration", "at"}
)
# A PBX's call id is often all digits (Asterisk's `1699999999.42`): kept as it is, being the one
# thing an operator greps for, and no phone number.
CALL_ID_PARAMS = frozenset({"call_id", "callid"})
# A name containing one of these is a credential: its value is dropped entirely, not masked.
_SECRET_NAME_PARTS = ("token", "key", "secret", "sig", "pass", "auth", "hmac", "jwt", "session", "code")

# Path segments after these prefixes are credentials (the CTI webhook takes its token there).
_TOKEN_PATH_PREFIXES: tuple[tuple[str, ...], ...] = (("webhooks", "cti"),)

_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+")
_SECRET_PARAM = re.compile(
    r"(?i)(?<![\w-])([\w.-]*(?:" + "|".join(_SECRET_NAME_PARTS) + r")[\w.-]*)=([^&\s\"'<>,;)\]]+)"
)
# Free text: up to 15 digits, single spaces or hyphens between them, optionally after + or 00.
# Never inside a word (hex ids, memory addresses) or next to a mask.
_PHONE_IN_TEXT = re.compile(r"(?<![\w+*])(?:\+|00)?\d(?:[ -]?\d){6,14}(?![\w*])")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# A long mix of letters and digits in a path is an access token or a key, not a route name.
_TOKEN_LIKE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[\w.~+=-]{20,}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_PLAIN_PARAM_NAME = re.compile(r"^[A-Za-z_][\w.\[\]-]{0,40}$")
# Safe characters when a masked value is put back into a path or query.
_SAFE = "*@.-_~"


def phone_digits(text: str) -> str | None:
    """`text` without separators when it is a phone number in any common writing (`+48 601 234 567`,
    `0048601234567`, `(601) 234-567`), else None."""
    if _DATE_LIKE.match(text.strip()):
        return None
    compact = _PHONE_SEPARATORS.sub("", text.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    digits = compact.removeprefix("+")
    if 7 <= len(digits) <= 15 and digits.isascii() and digits.isdigit():
        return compact
    return None


def _is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in _SECRET_NAME_PARTS)


def mask_value(value: str) -> str:
    """A value of unknown meaning, masked by its shape: a phone number, an email, or a name."""
    if (phone := phone_digits(value)) is not None:
        return mask_phone(phone)
    if _EMAIL.fullmatch(value.strip()):
        return mask_email(value.strip())
    return mask_name(value) if value.strip() else value


def _shape_only(value: str) -> str:
    """A value we keep, unless it turns out to be a phone number, an email or a token."""
    if phone_digits(value) is not None or _EMAIL.fullmatch(value.strip()):
        return mask_value(value)
    if _JWT.search(value):
        return REDACTED
    return value


def _redact_segment(segment: str, leading: list[str]) -> str:
    if any(tuple(leading[-len(prefix) :]) == prefix for prefix in _TOKEN_PATH_PREFIXES):
        return REDACTED
    decoded = unquote(segment)
    if _JWT.search(decoded) or (_TOKEN_LIKE.match(decoded) and not _UUID.match(decoded)):
        return REDACTED
    if phone_digits(decoded) is not None or _EMAIL.fullmatch(decoded):
        return quote(mask_value(decoded), safe=_SAFE)
    return segment


def redact_path(path: str) -> str:
    """`/webhooks/cti/<token>` → `/webhooks/cti/***`; phone numbers and emails in any segment
    masked; anything shaped like an access token → `***`."""
    segments = path.split("/")
    out: list[str] = []
    seen: list[str] = []
    for segment in segments:
        out.append(_redact_segment(segment, seen) if segment else segment)
        if segment:
            seen.append(unquote(segment).lower())
    return "/".join(out)


def _redact_pair(pair: str) -> str:
    name, sep, value = pair.partition("=")
    decoded_name = unquote_plus(name)
    if not _PLAIN_PARAM_NAME.match(decoded_name):
        # No plain name: the whole item may be data (`?anna@example.pl`).
        return quote(mask_value(unquote_plus(pair)), safe=_SAFE + "=")
    if not sep:
        return name
    if _is_secret_name(decoded_name):
        return f"{name}={REDACTED}"
    # A `+` left unencoded before digits is the number's own plus (PBXs send them so), as the app
    # reads it too (app/telephony/pbx/common.py number_from_query).
    decoded = (
        "+" + unquote_plus(value[1:]) if value[:1] == "+" and value[1:2].isdigit() else unquote_plus(value)
    )
    if decoded_name.lower() in CALL_ID_PARAMS and not _EMAIL.search(decoded) and not _JWT.search(decoded):
        return pair
    if decoded_name.lower() in KEPT_PARAMS:
        kept = _shape_only(decoded)
        return f"{name}={value if kept == decoded else quote(kept, safe=_SAFE)}"
    return f"{name}={quote(mask_value(decoded), safe=_SAFE)}"


def redact_query(query: str) -> str:
    return "&".join(_redact_pair(pair) if pair else pair for pair in query.split("&"))


def redact_target(target: str) -> str:
    """A request target as uvicorn logs it (quoted path, raw query) with nothing personal or secret
    left: see `redact_path` and `redact_query`."""
    path, sep, query = target.partition("?")
    return redact_path(path) + (sep + redact_query(query) if sep else "")


def _mask_phone_match(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = phone_digits(found)
    return mask_phone(digits) if digits is not None else found


def scrub_text(text: str, *, phones: bool = True) -> str:
    """Free text with tokens (JWTs, `Bearer …`, `token=…`-style pairs) → `***`, emails masked, and,
    with `phones`, digit runs shaped like phone numbers masked."""
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    if phones:
        text = _PHONE_IN_TEXT.sub(_mask_phone_match, text)
    return text


class SecretValues:
    """The service's own configured secrets, removed from every line whatever wrote it: the last
    net for a secret that reached a message through a path nobody foresaw."""

    # Shorter values would replace ordinary words; real secrets are longer (production refuses
    # anything under 12 characters).
    MIN_LENGTH = 8

    def __init__(self, values: Iterable[str | None]) -> None:
        forms: set[str] = set()
        for value in values:
            if value and len(value) >= self.MIN_LENGTH:
                forms.update({value, quote(value, safe=""), quote_plus(value)})
        # Longest first: a secret containing another is removed whole.
        self._forms = sorted(forms, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def remove(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text
