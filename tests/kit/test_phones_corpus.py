"""A table of numbers as they really arrive, with what normalise must make of them.

Every E.164 value in the table is checked against phonenumbers (``test_expected_numbers_are_real``)
so the corpus cannot drift into made-up ranges; the few possible-but-not-valid ones are listed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import phonenumbers
import pytest

from app.kit.phones import MAX_INPUT_CHARS, NormalisedNumber, NumberKind, display, normalise

E164 = NumberKind.E164
WITHHELD = NumberKind.WITHHELD
INVALID = NumberKind.INVALID
NOT_A_PHONE = NumberKind.NOT_A_PHONE


@dataclass(frozen=True)
class Case:
    raw: str | None
    region: str
    kind: NumberKind
    e164: str | None = None
    explicit: bool = False
    hint: bool = False
    extension: str | None = None


# Numbers phonenumbers knows only as "possible" (right length, range not in the metadata): kept
# because the country code was explicit.
POSSIBLE_ONLY = {"+447700900123"}

CORPUS: dict[str, Case] = {
    # --- Poland: no trunk prefix; numbers are written bare ---------------------------------------
    "pl-e164": Case("+48601234567", "PL", E164, "+48601234567", True),
    "pl-e164-spaced": Case("+48 601 234 567", "PL", E164, "+48601234567", True),
    "pl-e164-dashes": Case("+48 601-234-567", "PL", E164, "+48601234567", True),
    "pl-e164-brackets": Case("(+48) 601.234.567", "PL", E164, "+48601234567", True),
    "pl-00": Case("0048601234567", "PL", E164, "+48601234567", True),
    "pl-00-spaced": Case("00 48 601 234 567", "PL", E164, "+48601234567", True),
    "pl-national": Case("601234567", "PL", E164, "+48601234567", False),
    "pl-national-fixed": Case("22 123 45 67", "PL", E164, "+48221234567", False),
    "pl-outside-line-0": Case("0601234567", "PL", E164, "+48601234567", False),
    "pl-outside-line-0-spaced": Case("0 601 234 567", "PL", E164, "+48601234567", False),
    "pl-stray-0-after-cc": Case("+48 (0) 601 234 567", "PL", E164, "+48601234567", True),
    "pl-plus-00": Case("+0048601234567", "PL", E164, "+48601234567", True),
    "pl-cc-digits-no-plus": Case("48601234567", "PL", E164, "+48601234567", True),
    "pl-cc-digits-hint": Case("48601234567", "PL", E164, "+48601234567", True, hint=True),
    "pl-outside-line-0-hint": Case("0601234567", "PL", E164, "+48601234567", False, hint=True),
    # In PL numbers are written bare, so bare digits are national even when they also spell a
    # valid foreign number (+43 2230 275 is an Austrian line).
    "pl-bare-national-wins": Case("432230275", "PL", E164, "+48432230275", False),
    # With the provider hint the same digits are never national; +43 2230275 is too short.
    "pl-bare-with-hint-not-national": Case("601234567", "PL", INVALID, hint=True),
    "pl-quoted-spreadsheet": Case("'601234567", "PL", E164, "+48601234567", False),
    "pl-double-quoted": Case('"601 234 567"', "PL", E164, "+48601234567", False),
    # --- Extensions -------------------------------------------------------------------------------
    "ext-rfc3966": Case("+48 22 123 45 67;ext=12", "PL", E164, "+48221234567", True, extension="12"),
    "ext-x": Case("+48221234567 x12", "PL", E164, "+48221234567", True, extension="12"),
    "ext-x-glued": Case("+48221234567x12", "PL", E164, "+48221234567", True, extension="12"),
    "ext-dot": Case("+48 22 123 45 67 ext. 12", "PL", E164, "+48221234567", True, extension="12"),
    "ext-glued": Case("+48221234567 ext12", "PL", E164, "+48221234567", True, extension="12"),
    "ext-hash": Case("+48221234567#12", "PL", E164, "+48221234567", True, extension="12"),
    "ext-colon": Case("+48 22 123 45 67 ext: 12", "PL", E164, "+48221234567", True, extension="12"),
    "ext-word": Case("+49 30 1234 5678 extension 12", "DE", E164, "+493012345678", True, extension="12"),
    "ext-polish-wew": Case("22 123 45 67 wew. 12", "PL", E164, "+48221234567", False, extension="12"),
    "ext-us-x": Case("+1 (415) 555-2671 x 99", "US", E164, "+14155552671", True, extension="99"),
    "ext-tel-uri": Case(
        "tel:+49-30-1234-5678;ext=99;isub=1", "DE", E164, "+493012345678", True, extension="99"
    ),
    # --- URIs -------------------------------------------------------------------------------------
    "tel": Case("tel:+48601234567", "PL", E164, "+48601234567", True),
    "tel-upper": Case("TEL:+48-601-234-567", "PL", E164, "+48601234567", True),
    "tel-phone-context": Case("tel:601234567;phone-context=+48", "DE", E164, "+48601234567", True),
    "tel-national": Case("tel:601234567", "PL", E164, "+48601234567", False),
    "sip-user-phone": Case("sip:+48601234567@pbx.example;user=phone", "PL", E164, "+48601234567", True),
    "sip-plain": Case("sip:+48601234567@pbx.example", "PL", E164, "+48601234567", True),
    "sips-port": Case("sips:+48601234567@pbx.example:5061;transport=tls", "PL", E164, "+48601234567", True),
    "sip-percent-plus": Case("sip:%2B48601234567@pbx.example", "PL", E164, "+48601234567", True),
    "sip-password": Case("sip:+48601234567:secret@pbx.example", "PL", E164, "+48601234567", True),
    "sip-national-user": Case("sip:601234567@pbx.example", "PL", E164, "+48601234567", False),
    "sip-no-host": Case("sip:+48601234567", "PL", E164, "+48601234567", True),
    "sip-name-addr": Case('"Alice" <sip:+48601234567@pbx.example>;tag=a1', "PL", E164, "+48601234567", True),
    "sip-00-user": Case("sip:0048601234567@trunk.example", "DE", E164, "+48601234567", True),
    "sip-extension-user": Case("sip:1001@pbx.example", "PL", INVALID),
    "sip-alice": Case("sip:alice@pbx", "PL", NOT_A_PHONE),
    "sip-alice-digits": Case("sip:alice2@pbx.example", "PL", NOT_A_PHONE),
    "sip-host-only": Case("sip:pbx.example.com", "PL", NOT_A_PHONE),
    "client-alice": Case("client:alice", "US", NOT_A_PHONE),
    "client-anonymous": Case("client:Anonymous", "US", NOT_A_PHONE),
    "user-at-host": Case("alice@pbx.example", "PL", NOT_A_PHONE),
    "whatsapp": Case("whatsapp:+48601234567", "PL", E164, "+48601234567", True),
    # --- Withheld ---------------------------------------------------------------------------------
    "none": Case(None, "PL", WITHHELD),
    "empty": Case("", "PL", WITHHELD),
    "blank": Case("   ", "PL", WITHHELD),
    "tab-newline": Case("\t\n", "PL", WITHHELD),
    "anonymous": Case("anonymous", "US", WITHHELD),
    "Anonymous": Case("Anonymous", "US", WITHHELD),
    "ANONYMOUS-padded": Case("  ANONYMOUS ", "US", WITHHELD),
    "restricted": Case("Restricted", "US", WITHHELD),
    "unknown": Case("unknown", "PL", WITHHELD),
    "private": Case("private", "PL", WITHHELD),
    "private-number-spaced": Case("Private  Number", "GB", WITHHELD),
    "unavailable": Case("UNAVAILABLE", "US", WITHHELD),
    "withheld": Case("withheld", "GB", WITHHELD),
    "withheld-number-display": Case("Withheld number", "GB", WITHHELD),
    "blocked": Case("blocked", "US", WITHHELD),
    "plus-anonymous": Case("+anonymous", "US", WITHHELD),
    "un-known-spaced": Case("un known", "US", WITHHELD),
    "german-unbekannt": Case("Unbekannt", "DE", WITHHELD),
    "sip-anonymous": Case("sip:anonymous@anonymous.invalid", "PL", WITHHELD),
    "sip-anonymous-name-addr": Case('"Anonymous" <sip:anonymous@anonymous.invalid>;tag=x', "PL", WITHHELD),
    "sip-restricted-user": Case("sip:restricted@pbx.example", "US", WITHHELD),
    "sip-anonymous-host": Case("sip:caller@anonymous.invalid", "US", WITHHELD),
    "tel-anonymous": Case("tel:anonymous", "US", WITHHELD),
    # Twilio's keypad placeholders, before any parsing (+266696687 lies in Lesotho's range).
    "twilio-anonymous": Case("+266696687", "US", WITHHELD),
    "twilio-anonymous-no-plus": Case("266696687", "PL", WITHHELD),
    "twilio-anonymous-hint": Case("266696687", "PL", WITHHELD, hint=True),
    "twilio-anonymous-00": Case("00266696687", "DE", WITHHELD),
    "twilio-restricted": Case("+7378742833", "US", WITHHELD),
    "twilio-restricted-no-plus": Case("7378742833", "US", WITHHELD),
    "twilio-blocked": Case("+2562533", "US", WITHHELD),
    "twilio-blocked-no-plus": Case("2562533", "US", WITHHELD),
    "twilio-unknown": Case("+8656696", "US", WITHHELD),
    "twilio-unknown-spaced": Case("+865 6696", "US", WITHHELD),
    "twilio-unavailable": Case("+86282452253", "US", WITHHELD),
    "twilio-unavailable-no-plus": Case("86282452253", "GB", WITHHELD),
    # --- Invalid ----------------------------------------------------------------------------------
    "short-112": Case("112", "PL", INVALID),
    "short-8080": Case("8080", "PL", INVALID),
    "short-116111": Case("116111", "DE", INVALID),
    "short-999": Case("999", "GB", INVALID),
    "short-911": Case("911", "US", INVALID),
    "short-190-br": Case("190", "BR", INVALID),
    "letters": Case("asdfgh", "PL", INVALID),
    "letters-dashes": Case("n/a", "PL", INVALID),
    "vanity": Case("1-800-FLOWERS", "US", INVALID),
    "label-prefix": Case("Phone: 601234567", "PL", INVALID),
    "annotation": Case("601234567 (mobile)", "PL", INVALID),
    "two-numbers-slash": Case("601234567 / 501234567", "PL", INVALID),
    "two-numbers-semicolon": Case("601 234 567; 501 234 567", "PL", INVALID),
    "plus-alone": Case("+", "PL", INVALID),
    "double-plus": Case("++48601234567", "PL", INVALID),
    "plus-inside": Case("48+601234567", "PL", INVALID),
    "plus-then-trunk": Case("+0601234567", "PL", INVALID),
    "unknown-cc": Case("+999 123456", "PL", INVALID),
    "too-many-digits": Case("123456789012345678901", "PL", INVALID),
    "over-length-cap": Case("+48601234567" + " " * MAX_INPUT_CHARS, "PL", INVALID),
    "unknown-region-national": Case("601234567", "XX", INVALID),
    # Possible but not valid: kept only when the country code is explicit.
    "possible-only-explicit": Case("+44 7700 900123", "DE", E164, "+447700900123", True),
    "possible-only-national": Case("07700 900123", "GB", INVALID),
    "possible-only-bare-cc": Case("447700900123", "US", INVALID),
    "possible-only-hint": Case("447700900123", "US", E164, "+447700900123", True, hint=True),
    # --- Germany: trunk 0, variable-length national numbers -------------------------------------
    "de-national": Case("030 12345678", "DE", E164, "+493012345678", False),
    "de-national-slash": Case("030/12345678", "DE", E164, "+493012345678", False),
    "de-national-brackets": Case("(030) 123 456 78", "DE", E164, "+493012345678", False),
    "de-mobile": Case("0151 23456789", "DE", E164, "+4915123456789", False),
    "de-stray-0": Case("+4903012345678", "PL", E164, "+493012345678", True),
    "de-stray-0-bracket": Case("+49 (0)30 12345678", "GB", E164, "+493012345678", True),
    "de-00-stray-0": Case("0049 (0)30 1234 5678", "PL", E164, "+493012345678", True),
    "de-own-cc-digits": Case("4930123456789", "DE", E164, "+4930123456789", True),
    # The trap: as DE national digits these are a valid +49 4860 1234567. Germans write national
    # numbers with the trunk 0, so digits without it that form a valid international number are
    # read as international.
    "de-trap-cc-digits": Case("48601234567", "DE", E164, "+48601234567", True),
    "de-trap-cc-digits-hint": Case("48601234567", "DE", E164, "+48601234567", True, hint=True),
    "de-trap-spaced-like-national": Case("4860 1234567", "DE", E164, "+48601234567", True),
    # ...and with the trunk 0 they are the German number.
    "de-trap-with-trunk-0": Case("04860 1234567", "DE", E164, "+4948601234567", False),
    "de-trap-00": Case("0048601234567", "DE", E164, "+48601234567", True),
    "de-00-hint": Case("0048601234567", "DE", E164, "+48601234567", True, hint=True),
    # The price of that rule: a German mobile written without its 0 that also spells a valid
    # NANP number reads as NANP (documented in the module; only a suffix match on digits pairs it).
    "de-mobile-without-0-reads-nanp": Case("15123456789", "DE", E164, "+15123456789", True),
    "de-mobile-without-0-hint": Case("15123456789", "DE", E164, "+15123456789", True, hint=True),
    "de-bare-without-0-not-international": Case("3012345678", "DE", E164, "+493012345678", False),
    # --- United Kingdom ---------------------------------------------------------------------------
    "gb-national-mobile": Case("07400 123456", "GB", E164, "+447400123456", False),
    "gb-mobile-without-0": Case("7400 123456", "GB", E164, "+447400123456", False),
    "gb-e164-stray-0": Case("+44 (0) 7400 123456", "PL", E164, "+447400123456", True),
    "gb-london-stray-0": Case("+44 020 7123 4567", "PL", E164, "+442071234567", True),
    "gb-london-national": Case("020 7123 4567", "GB", E164, "+442071234567", False),
    "gb-cc-digits": Case("447400123456", "PL", E164, "+447400123456", True),
    "gb-cc-digits-own-region": Case("447400123456", "GB", E164, "+447400123456", True),
    "gb-00": Case("00447400123456", "PL", E164, "+447400123456", True),
    # --- United States / NANP ---------------------------------------------------------------------
    "us-e164": Case("+1 415 555 2671", "US", E164, "+14155552671", True),
    "us-national": Case("(415) 555-2671", "US", E164, "+14155552671", False),
    "us-national-dots": Case("415.555.2671", "US", E164, "+14155552671", False),
    "us-with-1": Case("1-415-555-2671", "US", E164, "+14155552671", True),
    "us-with-1-bare": Case("14155552671", "US", E164, "+14155552671", True),
    "us-011-to-pl": Case("011 48 601 234 567", "US", E164, "+48601234567", True),
    "us-011-to-fr": Case("011 33 6 12 34 56 78", "US", E164, "+33612345678", True),
    "us-00-to-pl": Case("0048601234567", "US", E164, "+48601234567", True),
    # Written bare in the US, so bare digits are national (+32 56 46 11 70 would be Belgian).
    "us-bare-national-wins": Case("3256461170", "US", E164, "+13256461170", False),
    "us-uk-cc-digits-hint": Case("447400123456", "US", E164, "+447400123456", True, hint=True),
    "ca-national": Case("613-555-0123", "CA", E164, "+16135550123", False),
    "ca-number-us-region": Case("+1 613 555 0123", "US", E164, "+16135550123", True),
    # --- Brazil: 9th digit, carrier codes, area code in brackets ----------------------------------
    "br-e164": Case("+55 11 98765-4321", "BR", E164, "+5511987654321", True),
    "br-national": Case("(11) 98765-4321", "BR", E164, "+5511987654321", False),
    "br-old-8-digit-e164": Case("+55 11 8765-4321", "BR", E164, "+5511987654321", True),
    "br-old-8-digit-national": Case("(11) 8765-4321", "BR", E164, "+5511987654321", False),
    "br-old-8-digit-00": Case("0055 11 8765 4321", "PL", E164, "+5511987654321", True),
    "br-old-8-digit-hint": Case("551187654321", "US", E164, "+5511987654321", True, hint=True),
    "br-fixed-untouched": Case("(11) 2345-6789", "BR", E164, "+551123456789", False),
    "br-fixed-e164": Case("+55 11 2345-6789", "BR", E164, "+551123456789", True),
    "br-trunk-carrier": Case("0 21 11 98765-4321", "BR", E164, "+5511987654321", False),
    "br-cc-digits": Case("5511987654321", "BR", E164, "+5511987654321", True),
    "br-cc-digits-elsewhere": Case("5511987654321", "PL", E164, "+5511987654321", True),
    "br-rio": Case("21 98765-4321", "BR", E164, "+5521987654321", False),
    # --- Israel: trunk 0, numbers copied with direction marks -------------------------------------
    "il-e164": Case("+972 50-234-5678", "IL", E164, "+972502345678", True),
    "il-national-trunk-0": Case("050-234-5678", "IL", E164, "+972502345678", False),
    "il-national-without-0": Case("50-234-5678", "IL", E164, "+972502345678", False),
    "il-stray-0": Case("+972 (0)50-234-5678", "DE", E164, "+972502345678", True),
    "il-jerusalem": Case("02-123-4567", "IL", E164, "+97221234567", False),
    "il-tel-aviv-without-0": Case("3-123-4567", "IL", E164, "+97231234567", False),
    "il-cc-digits": Case("972502345678", "DE", E164, "+972502345678", True),
    "il-00": Case("00972502345678", "GB", E164, "+972502345678", True),
    "il-idd-012": Case("012 48 601 234 567", "IL", E164, "+48601234567", True),
    "il-direction-marks": Case("\u200e+972-50-234-5678\u200e", "IL", E164, "+972502345678", True),
    "il-arabic-indic-digits": Case(
        "+\u0669\u0667\u0662 \u0665\u0660 \u0662\u0663\u0664 \u0665\u0666\u0667\u0668",
        "IL",
        E164,
        "+972502345678",
        True,
    ),
    # --- France: 0033 forms -----------------------------------------------------------------------
    "fr-national": Case("06 12 34 56 78", "FR", E164, "+33612345678", False),
    "fr-national-dots": Case("06.12.34.56.78", "FR", E164, "+33612345678", False),
    "fr-e164": Case("+33 6 12 34 56 78", "US", E164, "+33612345678", True),
    "fr-e164-stray-0": Case("+33 (0)6 12 34 56 78", "FR", E164, "+33612345678", True),
    "fr-0033": Case("0033 6 12 34 56 78", "FR", E164, "+33612345678", True),
    "fr-0033-glued": Case("0033612345678", "DE", E164, "+33612345678", True),
    "fr-0033-stray-0": Case("0033 (0)6 12 34 56 78", "FR", E164, "+33612345678", True),
    "fr-0033-0-glued": Case("00330612345678", "PL", E164, "+33612345678", True),
    "fr-cc-digits": Case("33612345678", "FR", E164, "+33612345678", True),
    "fr-cc-digits-us": Case("33612345678", "US", E164, "+33612345678", True),
    "fr-paris": Case("01 23 45 67 89", "FR", E164, "+33123456789", False),
    "fr-011-is-not-french-idd": Case("011 33 6 12 34 56 78", "FR", INVALID),
    # --- Unicode ----------------------------------------------------------------------------------
    "unicode-nbsp": Case("+48\u00a0601\u00a0234\u00a0567", "PL", E164, "+48601234567", True),
    "unicode-narrow-nbsp": Case("+48\u202f601\u202f234\u202f567", "PL", E164, "+48601234567", True),
    "unicode-en-dash": Case("+48\u2009601\u2013234\u2013567", "PL", E164, "+48601234567", True),
    "unicode-fullwidth": Case(
        "\uff0b\uff14\uff18\uff16\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
        "PL",
        E164,
        "+48601234567",
        True,
    ),
    "unicode-arabic-indic-cc-digits": Case(
        "\u0664\u0668\u0666\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667", "PL", E164, "+48601234567", True
    ),
    "unicode-devanagari": Case(
        "\u0966\u096f\u096e\u096d\u096c\u096b \u096a\u0969\u0968\u0967\u0966",
        "IN",
        E164,
        "+919876543210",
        False,
    ),
    # --- Elsewhere --------------------------------------------------------------------------------
    "it-keeps-leading-0": Case("+39 06 1234 5678", "PL", E164, "+390612345678", True),
    "it-national": Case("06 1234 5678", "IT", E164, "+390612345678", False),
    "it-bare-national-wins": Case("34711890738", "IT", E164, "+3934711890738", False),
    "nl-national": Case("06-12345678", "NL", E164, "+31612345678", False),
    "ch-national": Case("079 123 45 67", "CH", E164, "+41791234567", False),
    "at-national": Case("0664 1234567", "AT", E164, "+436641234567", False),
    "at-00-from-de": Case("0043 664 1234567", "DE", E164, "+436641234567", True),
    "es-national": Case("612 34 56 78", "ES", E164, "+34612345678", False),
    "au-national": Case("0412 345 678", "AU", E164, "+61412345678", False),
    "au-idd-0011": Case("0011 48 601 234 567", "AU", E164, "+48601234567", True),
    "jp-national": Case("090-1234-5678", "JP", E164, "+819012345678", False),
    "jp-idd-010": Case("010 1 415 555 2671", "JP", E164, "+14155552671", True),
    "ru-trunk-8": Case("8 (495) 123-45-67", "RU", E164, "+74951234567", False),
    "ru-idd-810": Case("810 48 601 234 567", "RU", E164, "+48601234567", True),
    "in-national": Case("098765 43210", "IN", E164, "+919876543210", False),
    "lowercase-region": Case("601234567", "pl", E164, "+48601234567", False),
    "unknown-region-explicit": Case("+48601234567", "XX", E164, "+48601234567", True),
    "unknown-region-cc-digits": Case("48601234567", "XX", E164, "+48601234567", True),
    "non-geographic": Case("+800 1234 5678", "PL", E164, "+80012345678", True),
}


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 100
    regions = {case.region for case in CORPUS.values()}
    assert {"PL", "DE", "GB", "US", "BR", "IL", "FR"} <= regions


@pytest.mark.parametrize("case", CORPUS.values(), ids=CORPUS.keys())
def test_corpus(case: Case) -> None:
    result = normalise(case.raw, case.region, digits_carry_country_code=case.hint)
    assert result.kind is case.kind, result
    assert result.e164 == case.e164, result
    assert result.raw == (case.raw if case.raw is not None else "")
    if case.kind is E164:
        assert result.country_explicit is case.explicit, result
        assert result.extension == case.extension, result
        assert case.e164 is not None and result.national is not None
        assert case.e164.endswith(result.national)
    else:
        assert (result.national, result.region, result.country_explicit, result.extension) == (
            None,
            None,
            False,
            None,
        )


@pytest.mark.parametrize("e164", sorted({c.e164 for c in CORPUS.values() if c.e164 is not None}))
def test_expected_numbers_are_real(e164: str) -> None:
    number = phonenumbers.parse(e164)
    if e164 in POSSIBLE_ONLY:
        assert not phonenumbers.is_valid_number(number)
        assert phonenumbers.is_possible_number(number)
    else:
        assert phonenumbers.is_valid_number(number), e164


def test_fields_of_a_full_result() -> None:
    assert normalise("+48 22 123 45 67 ext. 12", "DE") == NormalisedNumber(
        kind=NumberKind.E164,
        raw="+48 22 123 45 67 ext. 12",
        e164="+48221234567",
        national="221234567",
        region="PL",
        country_explicit=True,
        extension="12",
    )


def test_region_of_the_number_not_the_default() -> None:
    assert normalise("+1 613 555 0123", "US").region == "CA"
    assert normalise("+39 06 698 12345", "IT").region == "VA"  # Vatican shares +39 06 698
    assert normalise("+800 1234 5678", "PL").region is None  # non-geographic "001"


def test_national_keeps_italian_leading_zero() -> None:
    assert normalise("+39 06 1234 5678", "IT").national == "0612345678"


def test_none_is_withheld_with_empty_raw() -> None:
    assert normalise(None, "PL") == NormalisedNumber(kind=NumberKind.WITHHELD, raw="")


def test_huge_input_is_refused_cheaply() -> None:
    huge = "+48601234567" * 1_000_000
    result = normalise(huge, "PL")
    assert result.kind is NumberKind.INVALID
    assert result.raw is huge


def test_hostile_input_at_the_cap_stays_cheap() -> None:
    # Strings built to make regexes backtrack; each must cost well under a millisecond.
    hostile = [
        "1" * 255 + "a",
        "1 " * 128,
        "1x" * 127 + "a",
        "1" + " " * 200 + "ext" + " " * 40 + "a",
        "1" + "\t" * 254 + "x",
        "9" + "ext" * 85,
        "+" + "1;" * 127,
        "sip:" + "@" * 252,
        "<" * 256,
        "\u200e1" * 128,
    ]
    started = time.perf_counter()
    for salt in range(10):  # distinct strings, so every call misses the cache
        for text in hostile:
            assert normalise(text[: MAX_INPUT_CHARS - 1] + str(salt), "PL").kind is not NumberKind.E164
    assert time.perf_counter() - started < 1.0


def test_odd_argument_types_do_not_raise() -> None:
    assert normalise(48601234567, "PL").kind is NumberKind.INVALID  # type: ignore[arg-type]
    assert normalise("601234567", None).kind is NumberKind.INVALID  # type: ignore[arg-type]
    assert normalise("+48601234567", "").e164 == "+48601234567"


def test_hint_only_changes_digits_without_a_prefix() -> None:
    for raw in ("+48601234567", "0048601234567", "tel:+48601234567", "anonymous", "client:bob"):
        assert normalise(raw, "DE", digits_carry_country_code=True) == normalise(raw, "DE")


def test_results_are_cached_and_immutable() -> None:
    first = normalise("+48 601 234 567", "PL")
    assert normalise("+48 601 234 567", "PL") is first
    with pytest.raises(AttributeError):
        first.e164 = "+1"  # type: ignore[misc]


# --- display ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "shown"),
    [
        ("601234567", "PL", "+48 601 234 567"),
        ("030 12345678", "DE", "+49 30 12345678"),
        ("(415) 555-2671", "US", "+1 415-555-2671"),
        ("+55 11 8765-4321", "BR", "+55 11 98765-4321"),
        ("050-234-5678", "IL", "+972 50-234-5678"),
        ("0033612345678", "FR", "+33 6 12 34 56 78"),
        ("+48 22 123 45 67;ext=12", "PL", "+48 22 123 45 67 ext. 12"),
        ("+447700900123", "PL", "+44 7700 900123"),
        ("anonymous", "PL", "Withheld number"),
        ("+266696687", "PL", "Withheld number"),
        (None, "PL", "Withheld number"),
        ("112", "PL", "Invalid number (112)"),
        ("asdf", "PL", "Invalid number (asdf)"),
        ("client:alice", "US", "client:alice"),
        ("sip:alice@pbx", "US", "sip:alice@pbx"),
    ],
)
def test_display(raw: str | None, region: str, shown: str) -> None:
    assert display(normalise(raw, region)) == shown


def test_display_shortens_a_long_invalid_raw() -> None:
    shown = display(normalise("x" * 200, "PL"))
    assert shown.startswith("Invalid number (xxx") and shown.endswith("…)")
    assert len(shown) < 90


def test_display_of_a_hand_built_value_does_not_raise() -> None:
    assert display(NormalisedNumber(kind=NumberKind.E164, raw="garbage", e164="+999")) == "+999"
    assert display(NormalisedNumber(kind=NumberKind.E164, raw="raw only")) == "raw only"
