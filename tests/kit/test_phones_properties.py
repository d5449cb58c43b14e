"""Properties normalise and display must keep for any input, not only the corpus."""

from __future__ import annotations

import phonenumbers
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.kit.phones import MAX_INPUT_CHARS, NormalisedNumber, NumberKind, display, normalise

# database=None: the example database would write .hypothesis/ into a working tree shared with
# other people; failures still print their reproducing example.
FAST = settings(deadline=None, max_examples=400, database=None, suppress_health_check=[HealthCheck.too_slow])

REGIONS = st.one_of(
    st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    st.sampled_from(["PL", "DE", "GB", "US", "BR", "IL", "FR", "IT", "pl", "", "XX", "001", "ZZ"]),
)

# Phone-shaped text: the prefixes, separators, schemes and suffixes numbers really arrive with,
# around digit runs of realistic lengths. Pure st.text() almost never reaches the parser.
_PREFIXES = ["", "", "+", "00", "011", "0", "+0", "tel:", "tel:+", "sip:", "sip:+", "sips:+", "810", "0011"]
_SEPARATORS = ["", "", " ", "-", ".", "/", "(", ")", "\u00a0", "\u2013", "\u200e"]
_SUFFIXES = ["", "", "", "@pbx.example;user=phone", ";ext=12", " x7", " ext. 301", "#9", ";phone-context=+48"]


@st.composite
def phone_like(draw: st.DrawFn) -> str:
    groups = draw(st.lists(st.text(alphabet="0123456789", min_size=1, max_size=5), min_size=1, max_size=6))
    body = ""
    for group in groups:
        body += draw(st.sampled_from(_SEPARATORS)) + group
    return draw(st.sampled_from(_PREFIXES)) + body + draw(st.sampled_from(_SUFFIXES))


@st.composite
def valid_numbers(draw: st.DrawFn) -> str:
    """A real number of some region, in one of phonenumbers' formats."""
    region = draw(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
    kind = draw(
        st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    )
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None:
        number = phonenumbers.parse("+48601234567")
    fmt = draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.E164,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.RFC3966,
            ]
        )
    )
    return phonenumbers.format_number(number, fmt)


ANY_INPUT = st.one_of(st.none(), st.text(max_size=80), phone_like(), valid_numbers())


def _check_e164_fields(result: NormalisedNumber) -> None:
    assert result.e164 is not None and result.e164.startswith("+")
    # E.164: at most 15 digits, and a length libphonenumber finds possible for the country.
    assert result.e164[1:].isdigit() and len(result.e164) <= 16
    assert phonenumbers.is_possible_number(phonenumbers.parse(result.e164))
    assert result.national is not None and result.national.isdigit()
    assert result.e164.endswith(result.national)


@FAST
@given(raw=ANY_INPUT, region=REGIONS, hint=st.booleans())
@example(raw="+266696687", region="LS", hint=False)
@example(raw="+4900301234567", region="DE", hint=False)
@example(raw="\x00\ud7ff\U0010ffff", region="PL", hint=True)
# Found with --hypothesis-seed=1: 18 digits were answered as an E.164 number.
@example(raw="810010000000000000", region="PL", hint=True)
@example(raw="810010000000000000", region="JP", hint=False)
def test_never_raises_and_fields_are_consistent(raw: str | None, region: str, hint: bool) -> None:
    result = normalise(raw, region, digits_carry_country_code=hint)
    assert isinstance(result.kind, NumberKind)
    assert result.raw == (raw if raw is not None else "")
    if result.kind is NumberKind.E164:
        _check_e164_fields(result)
    else:
        assert result.e164 is None and result.national is None and result.region is None
    assert isinstance(display(result), str)


@FAST
@given(raw=st.one_of(phone_like(), valid_numbers()), region=REGIONS, other=REGIONS, hint=st.booleans())
@example(raw="+44 020 7123 4567", region="PL", other="GB", hint=False)
@example(raw="+55 11 8765-4321", region="BR", other="US", hint=False)
@example(raw="48601234567", region="DE", other="PL", hint=False)
@example(raw="810010000000000000", region="PL", other="PL", hint=True)
def test_e164_is_a_fixed_point(raw: str, region: str, other: str, hint: bool) -> None:
    result = normalise(raw, region, digits_carry_country_code=hint)
    if result.kind is not NumberKind.E164:
        return
    again = normalise(result.e164, other)
    assert again.kind is NumberKind.E164
    assert again.e164 == result.e164
    assert again.national == result.national
    assert again.country_explicit


@FAST
@given(raw=st.one_of(phone_like(), valid_numbers()), region=REGIONS, other=REGIONS)
def test_display_reads_back_to_the_same_number(raw: str, region: str, other: str) -> None:
    result = normalise(raw, region)
    if result.kind is not NumberKind.E164:
        return
    shown = display(result)
    back = normalise(shown, other)
    assert back.kind is NumberKind.E164, shown
    assert back.e164 == result.e164, shown
    assert back.extension == result.extension, shown


@FAST
@given(raw=st.text(max_size=40), region=REGIONS)
def test_display_of_non_numbers(raw: str, region: str) -> None:
    result = normalise(raw, region)
    shown = display(result)
    if result.kind is NumberKind.WITHHELD:
        assert shown == "Withheld number"
        assert normalise(shown, region).kind is NumberKind.WITHHELD
    elif result.kind is NumberKind.INVALID:
        assert shown.startswith("Invalid number (")
    elif result.kind is NumberKind.NOT_A_PHONE:
        assert shown == raw


@settings(FAST, max_examples=50)
@given(
    seed=st.text(min_size=1, max_size=20),
    length=st.integers(min_value=MAX_INPUT_CHARS + 1, max_value=200_000),
    prefix=st.sampled_from(["", "+", "sip:", "tel:+", "anonymous"]),
)
def test_huge_inputs_are_invalid(seed: str, length: int, prefix: str) -> None:
    raw = prefix + (seed * (length // len(seed) + 1))[:length]
    assert normalise(raw, "PL").kind is NumberKind.INVALID


@FAST
@given(raw=st.one_of(phone_like(), valid_numbers()), region=REGIONS)
def test_hint_never_changes_prefixed_input(raw: str, region: str) -> None:
    # The provider hint is only about bare digits; a "+", "00" or URI says it all already.
    if raw.lstrip().startswith(("+", "tel:+", "sip:+", "sips:+")):
        assert normalise(raw, region, digits_carry_country_code=True) == normalise(raw, region)
