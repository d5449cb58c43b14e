"""Caller-number normalisation.

Every phone Ringcard sees (an incoming caller id, or a phone imported from a store) goes through
:func:`normalise`, which turns the many ways a number arrives (``+48 601-234-567``, ``0048…``,
``48601234567`` from a provider that drops the ``+``, ``sip:+48…@pbx``, ``tel:…;ext=12``,
``anonymous``, Twilio's keypad placeholders, …) into one canonical E.164 value plus its national
significant number, or says why there is no number (withheld, invalid, not a phone at all).

Decisions on ambiguous input, in the order the code applies them:

* Withheld: ``None``, an empty/blank string, the withheld words (any case, any spacing, with a
  stray ``+``), SIP URIs whose user is such a word or whose host is ``anonymous.invalid``
  (RFC 3323), and Twilio's placeholder numbers. The placeholders are checked on the bare digits
  *before* parsing (with or without ``+``/``00``), because some of them parse as real numbers
  (``+266696687`` is Lesotho's range). The price: a real US line ``737-874-2833`` written without
  ``+1`` reads as withheld; that trade is what the provider documentation asks for.
* ``client:…`` (a Twilio browser leg) and SIP users that are not numbers (``sip:alice@pbx``) are
  NOT_A_PHONE: there is nothing to look up, but nothing is wrong either.
* Free text with letters beyond a recognised extension marker (``Phone: 601…``, ``601… (mobile)``)
  is INVALID rather than guessed at: a caller-id matcher must not invent matches, and the raw text
  stays visible to the operator through :func:`display`.
* Explicit country (``+``, an international prefix such as ``00``/``011``/the region's own, a
  ``tel:``/``sip:`` number with ``+``, or digits from a provider flagged with
  ``digits_carry_country_code``): accepted when phonenumbers says *valid*, or else when it is
  at least *possible* (right length for the country). New ranges are opened faster than the pinned
  metadata is updated, and with the country code given by the caller a wrong guess is unlikely.
* No explicit country: only *valid* numbers are accepted, because a possible-only reading in an
  assumed country is as likely to be garbage as a phone.
* Bare digits that read validly both as a national number of the default region and as an
  international number (``48601234567`` in DE is both ``+49 4860 1234567`` and ``+48 601 234 567``):
  we read them the way a person of the default region writes numbers. Where national numbers are
  written with the trunk prefix (DE, GB, FR, IL, …: the region's format for that number includes
  the prefix and does not mark it optional) digits *without* the prefix cannot be a correctly
  written national number, so the valid international reading wins. Where numbers are written bare
  (PL, US, IT, BR ``(11) …``, RU with its optional ``8``) the national reading wins. Digits that
  start with the region's own country code followed by a valid national number are international
  (phonenumbers already does that). The length of the digits decides nothing by itself: German
  national numbers vary in length (the trap's 11 digits are an ordinary German length), so "longer
  than usual" does not separate the readings. Why this side: bare digits without the trunk prefix
  are what PBX trunks send for foreign callers (``48…``, ``44…``), while a domestic number typed
  without its trunk prefix is a writing slip. The price, covered by a test: a German mobile typed
  without its 0 that also spells a valid NANP number (``15123456789``) reads as ``+1 512…`` (its
  digits are kept, so a suffix match on digits can still pair it with ``+49 1512…``).
* An international reading chosen from bare digits sets ``country_explicit=True``: the country came
  from the digits, not from the default region.
* Repairs, tried only when the number as written is not valid: a stray trunk ``0`` after the
  country code (``+49 (0)30 …``, ``+44 020 …``) or a leading outside-line ``0`` (``0601234567`` in
  PL) is dropped when that makes a valid number; an old 8-digit Brazilian mobile gets its 9th digit
  (``+55 11 8765-4321`` → ``+55 11 98765-4321``) so both spellings match.
* Short codes and service numbers (``112``, ``116111``, ``8080``) are INVALID: they identify no
  customer.
* Every E164 result is a fixed point: ``normalise(result.e164, any_region).e164 == result.e164``.

Why this one module is allowed over the 400-line limit (tests/test_layout.py): the decisions above
are one ordered chain (withheld, then URI, then explicit country, then bare digits, then repairs),
and each private helper below is a step that only makes sense after the ones before it. Split into
files, the order would live in no single place; kept whole, this docstring and the code it
describes are read together, and the corpus and property tests pin the chain as one unit. A fifth
of the lines are this docstring.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

import phonenumbers
from phonenumbers import (
    CountryCodeSource,
    NumberFormat,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
    ValidationResult,
)

__all__ = ["NormalisedNumber", "NumberKind", "display", "normalise"]


class NumberKind(enum.StrEnum):
    E164 = "e164"
    WITHHELD = "withheld"
    INVALID = "invalid"
    NOT_A_PHONE = "not_a_phone"


@dataclass(frozen=True, slots=True)
class NormalisedNumber:
    kind: NumberKind
    raw: str
    """The input as given ("" for None)."""
    e164: str | None = None
    """``+48601234567`` when kind is E164."""
    national: str | None = None
    """National significant number, digits only: ``601234567``."""
    region: str | None = None
    """ISO 3166 region of the number (None when phonenumbers cannot tell, or non-geographic)."""
    country_explicit: bool = False
    """True when the input itself carried the country code; False when the default region was
    assumed, so the country is uncertain for matching."""
    extension: str | None = None
    """Dropped from ``e164`` but kept here."""


# Longer input is not a phone, a caller id or a SIP header; refusing it early bounds the work and
# keeps the cache from holding huge keys.
MAX_INPUT_CHARS = 256
_E164_MAX_DIGITS = 15
# E.164 allows 15 digits; leave room for an international prefix and a stray trunk 0.
_MAX_DIGITS = 20
_CACHE_SIZE = 200_000
# Each pass may only shorten the digits (phonenumbers strips a national prefix), so a handful is
# plenty; a number that keeps changing is refused rather than returned unstable.
_MAX_STABILISE_PASSES = 4

# Twilio's withheld placeholders spell ANONYMOUS, RESTRICTED, BLOCKED, UNKNOWN, UNAVAILABLE on a
# keypad. Compared as bare digits so ``+``, ``00`` and formatting do not matter.
_TWILIO_PLACEHOLDER_DIGITS = frozenset({"266696687", "7378742833", "2562533", "8656696", "86282452253"})

# Compared after lower-casing and dropping everything that is not a letter, so "Private Number",
# "private-number", "+anonymous" and "UN KNOWN" all hit. Includes our own display() text, so that
# a value that went through the UI once normalises the same again, and the words the PBXs of our
# target markets put in the caller-id field.
_WITHHELD_WORDS = frozenset(
    {
        "anonymous",
        "anonymouscaller",
        "restricted",
        "restrictednumber",
        "unknown",
        "unknowncaller",
        "unknownnumber",
        "private",
        "privatecaller",
        "privatenumber",
        "unavailable",
        "notavailable",
        "withheld",
        "withheldnumber",
        "numberwithheld",
        "blocked",
        "blockednumber",
        "nocallerid",
        "callerunknown",
        # DE, FR, PL, PT (BR) and HE-market PBX wordings.
        "anonym",
        "unbekannt",
        "unterdrueckt",
        "unterdrückt",
        "inconnu",
        "masqué",
        "masque",
        "nieznany",
        "zastrzeżony",
        "zastrzezony",
        "privado",
        "desconhecido",
        "restrito",
    }
)

# A trailing extension, in the spellings seen in caller ids and shop data ("x12", "ext. 12",
# "ext12", "extension 12", "#12", Polish "wew. 12"). Anchored at the end so it cannot eat digits of
# the number itself, and only searched for in the last _EXTENSION_TAIL characters so that a long
# hostile string costs linear time.
_EXTENSION_RE = re.compile(
    r"[\s,]*(?:extension|extn|ext|x|\#|wew)[\s.:=]{0,3}(?P<ext>\d{1,10})\#?$", re.IGNORECASE
)
_EXTENSION_TAIL = 32
# Visual separators people and systems put inside numbers; quotes come from spreadsheet exports.
_SEPARATORS_RE = re.compile(r"[\s\-.()/\[\]'\"]+")
_DIAL_STRING_RE = re.compile(r"\+?\d+")
# The common already-canonical form (Twilio, Telnyx, Shopify): skips all of the cleaning.
_E164_FAST_RE = re.compile(r"\+[1-9]\d{5,16}")
_URI_PARAM_RE = re.compile(r"(?P<key>[a-z-]+)=(?P<value>.*)", re.IGNORECASE)


def normalise(raw: str | None, region: str, *, digits_carry_country_code: bool = False) -> NormalisedNumber:
    """Classify and canonicalise one phone number as it arrived.

    ``region`` is the ISO 3166 alpha-2 default region (``RINGCARD_DEFAULT_REGION``) used for
    numbers written without a country. ``digits_carry_country_code`` is the adapter's hint that
    the provider sends E.164 digits without ``+`` (Vonage, Plivo, some trunks).

    Never raises: anything that cannot be read comes back as INVALID.
    """
    if raw is None:
        return _WITHHELD_NONE
    if not isinstance(raw, str):  # callers are typed, but imports hand us whatever the JSON held
        return NormalisedNumber(kind=NumberKind.INVALID, raw=_safe_str(raw))
    if len(raw) > MAX_INPUT_CHARS:
        return NormalisedNumber(kind=NumberKind.INVALID, raw=raw)
    region_code = region.upper() if isinstance(region, str) else ""
    try:
        return _normalise_cached(raw, region_code, bool(digits_carry_country_code))
    except Exception:  # the contract is "never raises"; a library surprise must not drop a call
        return NormalisedNumber(kind=NumberKind.INVALID, raw=raw)


def display(number: NormalisedNumber) -> str:
    """Human form: ``+48 601 234 567`` (``… ext. 12``), ``Withheld number``,
    ``Invalid number (<raw>)``, or the raw value for something that is not a phone."""
    if number.kind is NumberKind.E164 and number.e164:
        text = _format_international(number.e164)
        return f"{text} ext. {number.extension}" if number.extension else text
    if number.kind is NumberKind.WITHHELD:
        return "Withheld number"
    if number.kind is NumberKind.INVALID:
        raw = number.raw if len(number.raw) <= 64 else number.raw[:63] + "…"
        return f"Invalid number ({raw})"
    return number.raw


# --------------------------------------------------------------------------------------------
# Core (pure, cached)
# --------------------------------------------------------------------------------------------

_WITHHELD_NONE = NormalisedNumber(kind=NumberKind.WITHHELD, raw="")


@dataclass(frozen=True, slots=True)
class _Reading:
    """A phonenumbers result we accept, and whether its country came from the input."""

    number: PhoneNumber
    explicit: bool


class _Withheld(Exception):
    """Raised inside the core when digits turn out to be a withheld placeholder."""


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalise_cached(raw: str, region: str, carries_cc: bool) -> NormalisedNumber:
    if _E164_FAST_RE.fullmatch(raw):
        return _from_dial_string(raw, raw, region, carries_cc, None)

    text = _fold_unicode(raw).strip()
    if not text:
        return NormalisedNumber(kind=NumberKind.WITHHELD, raw=raw)
    text = _unwrap_name_addr(text)
    lowered = text.lower()

    if lowered.startswith("client:"):
        return NormalisedNumber(kind=NumberKind.NOT_A_PHONE, raw=raw)
    if lowered.startswith(("sip:", "sips:")):
        return _from_sip(raw, text.split(":", 1)[1], region, carries_cc)
    if lowered.startswith(("tel:", "whatsapp:")):
        # WhatsApp legs (Twilio) carry the caller's phone, so they are as good as tel:.
        return _from_number_text(raw, unquote(text.split(":", 1)[1]), region, carries_cc, NumberKind.INVALID)
    if "@" in text:
        # "user@host" without a scheme: some SIP trunks and Telnyx SIP legs send it that way (and an
        # e-mail address typed into a phone field is just as much not a phone).
        return _from_sip(raw, text, region, carries_cc)
    return _from_number_text(raw, text, region, carries_cc, NumberKind.INVALID)


def _from_sip(raw: str, rest: str, region: str, carries_cc: bool) -> NormalisedNumber:
    userinfo, at, hostport = rest.partition("@")
    if not at:
        # RFC 3261 reads "sip:x" as a host, but PBXs do send "sip:+48…" or "sip:anonymous" with
        # no host part.
        head = rest.split(";", 1)[0]
        is_user = _is_withheld_word(head) or _looks_like_dial_text(head)
        userinfo, hostport = (rest, "") if is_user else ("", rest)
    host = hostport.split(";", 1)[0].split("?", 1)[0].lower()
    user = unquote(userinfo.split(":", 1)[0])  # drop a "user:password" password
    if host.startswith("anonymous.invalid") or _is_withheld_word(user.split(";", 1)[0]):
        return NormalisedNumber(kind=NumberKind.WITHHELD, raw=raw)
    if not user:
        return NormalisedNumber(kind=NumberKind.NOT_A_PHONE, raw=raw)
    # A SIP user that is not a dial string is an account name ("alice"), not a broken number.
    return _from_number_text(raw, user, region, carries_cc, NumberKind.NOT_A_PHONE)


def _from_number_text(
    raw: str, text: str, region: str, carries_cc: bool, not_dialable: NumberKind
) -> NormalisedNumber:
    """``text`` is a number with optional RFC 3966 parameters and a trailing extension."""
    number_part, *params = text.split(";")
    extension: str | None = None
    for param in params:
        param = param.strip()
        match = _URI_PARAM_RE.fullmatch(param)
        if match is None:
            if param:  # "601…; 501…" is two numbers, not one with a parameter
                return NormalisedNumber(kind=NumberKind.INVALID, raw=raw)
            continue
        key, value = match["key"].lower(), match["value"].strip()
        if key == "ext":
            extension = _SEPARATORS_RE.sub("", value) or None
        elif key == "phone-context" and value.startswith("+") and not number_part.strip().startswith("+"):
            # tel:601234567;phone-context=+48 is the RFC 3966 way of saying +48601234567.
            number_part = value + number_part
        # Other parameters (isub, user=phone, transport, …) say nothing about the number.
    if extension is not None and not extension.isdigit():
        extension = None

    number_part = number_part.strip()
    match = _EXTENSION_RE.search(number_part, max(0, len(number_part) - _EXTENSION_TAIL))
    if match is not None and any(ch.isdigit() for ch in number_part[: match.start()]):
        number_part, extension = number_part[: match.start()], match["ext"]

    if not any(ch.isdigit() for ch in number_part):
        if _is_withheld_word(number_part):
            return NormalisedNumber(kind=NumberKind.WITHHELD, raw=raw)
        return NormalisedNumber(kind=not_dialable, raw=raw)
    dial = _SEPARATORS_RE.sub("", number_part)
    if not _DIAL_STRING_RE.fullmatch(dial):
        return NormalisedNumber(kind=not_dialable, raw=raw)
    return _from_dial_string(raw, dial, region, carries_cc, extension)


def _from_dial_string(
    raw: str, dial: str, region: str, carries_cc: bool, extension: str | None
) -> NormalisedNumber:
    """``dial`` is ``+?\\d+``."""
    plus = dial.startswith("+")
    digits = dial[1:] if plus else dial
    if len(digits) > _MAX_DIGITS or len(digits) < 3:
        return NormalisedNumber(kind=NumberKind.INVALID, raw=raw)
    if _is_placeholder(digits):
        return NormalisedNumber(kind=NumberKind.WITHHELD, raw=raw)
    try:
        reading = _read_digits(digits, plus, region, carries_cc)
    except _Withheld:
        return NormalisedNumber(kind=NumberKind.WITHHELD, raw=raw)
    if reading is None:
        return NormalisedNumber(kind=NumberKind.INVALID, raw=raw)
    number = reading.number
    e164 = _e164(number)
    # E.164 numbers have at most 15 digits, and libphonenumber must find the length possible for
    # the country: anything else would be stored and matched as a phone that cannot exist.
    if len(e164) - 1 > _E164_MAX_DIGITS or not phonenumbers.is_possible_number(number):
        return NormalisedNumber(kind=NumberKind.INVALID, raw=raw)
    region_of_number = phonenumbers.region_code_for_number(number)
    return NormalisedNumber(
        kind=NumberKind.E164,
        raw=raw,
        e164=e164,
        national=phonenumbers.national_significant_number(number),
        region=region_of_number if region_of_number and region_of_number != "001" else None,
        country_explicit=reading.explicit,
        extension=extension,
    )


def _read_digits(digits: str, plus: bool, region: str, carries_cc: bool) -> _Reading | None:
    if plus:
        if digits.startswith("00"):  # "+0048…": both conventions at once, seen in shop data
            digits = digits[2:]
        number, _valid = _international(digits)
        return _Reading(number, explicit=True) if number is not None else None
    if carries_cc and not digits.startswith("0"):
        # The provider said these digits start with a country code, so they are never read as a
        # national number of the default region (the DE "48601234567" trap). Digits starting with
        # 0 cannot start with a country code and go the ordinary way.
        number, _valid = _international(digits)
        return _Reading(number, explicit=True) if number is not None else None

    # International prefix: the region's own (from the metadata: 00, 011, 0011, 810, 0012-carrier
    # codes…), plus 00 everywhere (nobody's national numbers start with 00, and shop data from a
    # US store does carry 0048…) and 011 in NANP regions.
    possible: PhoneNumber | None = None
    for prefix_len in _international_prefix_lengths(digits, region):
        number, valid = _international(digits[prefix_len:])
        if number is not None and valid:
            return _Reading(number, explicit=True)
        if number is not None and possible is None:
            possible = number
    if possible is not None:
        return _Reading(possible, explicit=True)
    return _read_national(digits, region)


def _read_national(digits: str, region: str) -> _Reading | None:
    """Bare digits: a national number of ``region``, or digits that carry a country code."""
    national = _parse(digits, region, keep_raw_input=True)
    if national is not None:
        # phonenumbers itself recognises the region's own country code in front of a national
        # number ("48601234567" in PL); that counts as explicit.
        explicit = national.country_code_source != CountryCodeSource.FROM_DEFAULT_COUNTRY
        if phonenumbers.is_valid_number(national):
            if not explicit and _written_with_trunk_prefix(digits, national, region):
                international, valid = _international(digits)
                if international is not None and valid:
                    return _Reading(international, explicit=True)
            return _stable_reading(national, explicit)
        repaired = _repair(national)
        if repaired is not None:
            return _stable_reading(repaired, explicit)
    international, valid = _international(digits)
    if international is not None and valid:
        return _Reading(international, explicit=True)
    return None


def _stable_reading(number: PhoneNumber, explicit: bool) -> _Reading | None:
    """``number`` as it will read back from its own E.164 (see :func:`_international`)."""
    e164 = _e164(number)
    if _is_placeholder(e164[1:]):
        raise _Withheld
    if not _national_prefix_re(number.country_code or 0).match(
        phonenumbers.national_significant_number(number)
    ):
        # Parsing "+<cc><nsn>" could only change the number by stripping a national prefix from
        # the NSN; when none can match, skip the second parse (a third of the uncached cost).
        return _Reading(number, explicit)
    stable, _valid = _international(e164[1:])
    return _Reading(stable, explicit) if stable is not None else None


def _international(digits: str) -> tuple[PhoneNumber | None, bool]:
    """Read ``digits`` as country code + number; return the accepted number and its validity.

    Iterates to a fixed point so that the E.164 we hand out normalises to itself (phonenumbers
    strips a national prefix after the country code, which could otherwise shorten it again).
    """
    for _ in range(_MAX_STABILISE_PASSES):
        number, valid = _international_once(digits)
        if number is None:
            return None, False
        canonical = _e164(number)[1:]
        if canonical == digits:
            return number, valid
        digits = canonical
    return None, False


def _international_once(digits: str) -> tuple[PhoneNumber | None, bool]:
    if not digits or digits[0] == "0":  # no country code starts with 0
        return None, False
    if _is_placeholder(digits):
        raise _Withheld
    number = _parse("+" + digits, None)
    if number is None:
        return None, False
    if phonenumbers.is_valid_number(number):
        return number, True
    repaired = _repair(number)
    if repaired is not None:
        return repaired, True
    # The country code is explicit: a number of the right length for it is kept even when the
    # pinned metadata does not know its range yet.
    if phonenumbers.is_possible_number_with_reason(number) == ValidationResult.IS_POSSIBLE:
        return number, False
    return None, False


def _repair(number: PhoneNumber) -> PhoneNumber | None:
    """A valid variant of an invalid number, or None. Only well-known writing slips."""
    country_code = number.country_code
    nsn = phonenumbers.national_significant_number(number)
    candidates: list[str] = []
    if country_code == 55 and len(nsn) == 10 and nsn[2] in "6789":
        # Brazil moved all mobiles (which started 6-9) to 9 digits by prefixing a 9; old
        # contacts still hold the 8-digit form.
        candidates.append(nsn[:2] + "9" + nsn[2:])
    if nsn.startswith("0"):
        # A trunk 0 kept after the country code ("+44 020…", "+48 0601…") or an outside-line 0
        # in front of a national number ("0601234567" in PL, which has no trunk prefix).
        candidates.append(nsn[1:])
    for candidate in candidates:
        fixed = _parse(f"+{country_code}{candidate}", None)
        if fixed is not None and phonenumbers.is_valid_number(fixed):
            return fixed
    return None


def _written_with_trunk_prefix(digits: str, national: PhoneNumber, region: str) -> bool:
    """True when a person of ``region`` would have written this national number with the trunk
    prefix, yet ``digits`` lack it (so bare digits are more likely an international number)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return False
    prefix = metadata.national_prefix
    # NANP's "1" is the country code too, so it carries no information here.
    if not prefix or prefix == str(metadata.country_code) or digits.startswith(prefix):
        return False
    number_format = _format_for(metadata, phonenumbers.national_significant_number(national))
    if number_format is None or number_format.national_prefix_optional_when_formatting:
        return False
    rule = number_format.national_prefix_formatting_rule
    return rule is not None and prefix in rule.replace("\\1", "")


def _format_for(metadata: PhoneMetadata, nsn: str) -> NumberFormat | None:
    # The same choice phonenumbers makes when formatting: the last (most specific) leading-digits
    # pattern must match the start, the format pattern the whole number.
    for number_format in metadata.number_format:
        leading = number_format.leading_digits_pattern
        if leading and not re.match(leading[-1], nsn):
            continue
        if number_format.pattern is not None and re.fullmatch(number_format.pattern, nsn):
            return number_format
    return None


_NEVER_MATCHES = re.compile(r"(?!)")


@functools.cache
def _national_prefix_re(country_code: int) -> re.Pattern[str]:
    # The same metadata phonenumbers uses when it parses "+<country_code>…".
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None or not metadata.national_prefix_for_parsing:
        return _NEVER_MATCHES
    return re.compile(metadata.national_prefix_for_parsing)


@functools.cache
def _international_prefix_re(region: str) -> re.Pattern[str] | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or not metadata.international_prefix:
        return None
    return re.compile(metadata.international_prefix)


def _international_prefix_lengths(digits: str, region: str) -> list[int]:
    lengths: list[int] = []
    pattern = _international_prefix_re(region)
    if pattern is not None:
        match = pattern.match(digits)
        if match is not None and match.end() > 0:
            lengths.append(match.end())
    if digits.startswith("00") and 2 not in lengths:
        lengths.append(2)
    if digits.startswith("011") and 3 not in lengths and phonenumbers.is_nanpa_country(region):
        lengths.append(3)
    return lengths


def _parse(text: str, region: str | None, *, keep_raw_input: bool = False) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region, keep_raw_input=keep_raw_input)
    except NumberParseException:
        return None


def _e164(number: PhoneNumber) -> str:
    return f"+{number.country_code}{phonenumbers.national_significant_number(number)}"


def _is_placeholder(digits: str) -> bool:
    return digits in _TWILIO_PLACEHOLDER_DIGITS or (
        digits.startswith("00") and digits[2:] in _TWILIO_PLACEHOLDER_DIGITS
    )


def _is_withheld_word(text: str) -> bool:
    letters = "".join(ch for ch in text.lower() if ch.isalpha())
    return letters in _WITHHELD_WORDS and not any(ch.isdigit() for ch in text)


def _looks_like_dial_text(text: str) -> bool:
    return _DIAL_STRING_RE.fullmatch(_SEPARATORS_RE.sub("", text)) is not None


# --------------------------------------------------------------------------------------------
# Text clean-up
# --------------------------------------------------------------------------------------------


def _fold_unicode(text: str) -> str:
    """ASCII digits, ``+``, spaces and ``-`` for their Unicode look-alikes; drop format marks.

    Hebrew and Arabic copy-paste brings direction marks, spreadsheets bring non-breaking spaces,
    phones with other locales bring native digits.
    """
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFKC", text)  # fullwidth digits and plus, most spaces
    out: list[str] = []
    for ch in folded:
        if ch.isascii():
            out.append(ch)
            continue
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out.append(str(digit))
            continue
        category = unicodedata.category(ch)
        if category == "Zs":
            out.append(" ")
        elif category == "Pd" or ch == "\u2212":  # dashes and the minus sign
            out.append("-")
        elif category != "Cf":  # zero-width and direction marks vanish
            out.append(ch)
    return "".join(out)


def _unwrap_name_addr(text: str) -> str:
    # '"Alice" <sip:+48601234567@pbx>;tag=1' → the URI inside the angle brackets.
    start = text.find("<")
    if start < 0:
        return text
    end = text.find(">", start + 1)
    inner = text[start + 1 : end if end >= 0 else len(text)].strip()
    return inner or text


def _safe_str(value: object) -> str:
    try:
        return str(value)[:MAX_INPUT_CHARS]
    except Exception:
        return ""


@functools.lru_cache(maxsize=65_536)
def _format_international(e164: str) -> str:
    number = _parse(e164, None)
    if number is None:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
