"""What a transcript keeps and loses before it is stored or sent to a model: card numbers (as
speech-to-text writes them), security codes after their keywords and IBANs become `[redacted]`;
order numbers, phone numbers, tracking numbers and everything else stay byte for byte.

The card numbers are payment processors' published test numbers; the IBANs are the examples of the
SWIFT IBAN registry. Both are checked here against plain reference implementations of Luhn and
ISO 13616 mod-97, so the corpus cannot drift into numbers that would pass or fail by accident."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.summaries.redaction import REDACTED, redact, redact_segments

# database=None: the example database would write .hypothesis/ into a working tree shared with
# other people; failures still print their reproducing example.
FAST = settings(deadline=None, max_examples=300, database=None, suppress_health_check=[HealthCheck.too_slow])


def luhn_ok(number: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def iban_ok(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def grouped(number: str, sizes: tuple[int, ...], sep: str = " ") -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    parts.append(number[at:])
    return sep.join(part for part in parts if part)


# --- Card numbers -------------------------------------------------------------------------------

# Published test numbers: Visa, Mastercard, Amex, Discover, JCB from the processors' lists (e.g.
# https://developer.cybersource.com/docs/cybs/en-us/test-data/developer/all/so/test-data/testing_credit_card_services.html,
# which also gives the 2-series Mastercard and the 19-digit UK Maestro), the other 19-digit Maestro
# from https://epayments.developer-ingenico.com/payment-product/maestro/testing.
CARDS = {
    "visa": "4111111111111111",
    "visa-2": "4012888888881881",
    "visa-13": "4222222222222",
    "mastercard": "5555555555554444",
    "mastercard-5500": "5500000000000004",
    "mastercard-2-series": "2222420000001113",
    "mastercard-2-series-b": "2223000048400011",
    "amex": "378282246310005",
    "amex-2": "371449635398431",
    "maestro-16": "6759411100000008",
    "maestro-19": "6759560045005727054",
    "maestro-19-b": "6304939304310009610",
    "discover": "6011111111111117",
    "jcb": "3566111111111113",
}
# How a card is printed, and so read out: Amex 4-6-5, the others in fours.
PRINTED = {15: (4, 6, 5), 13: (4, 4, 4), 16: (4, 4, 4), 19: (4, 4, 4, 4)}


def writings(number: str) -> dict[str, str]:
    printed = PRINTED[len(number)]
    return {
        "compact": number,
        "spaces": grouped(number, printed),
        "dashes": grouped(number, printed, "-"),
        "fours": grouped(number, (4,) * 4),
        "digit by digit": " ".join(number),
        "no-break spaces": grouped(number, printed, "\u00a0"),
    }


def test_the_published_numbers_are_luhn_valid() -> None:
    assert all(luhn_ok(number) for number in CARDS.values())


@pytest.mark.parametrize("brand", sorted(CARDS))
def test_a_card_number_is_redacted_however_it_is_written(brand: str) -> None:
    for how, written in writings(CARDS[brand]).items():
        text = f"Customer: sure, my card number is {written}, expiring in December."
        assert redact(text) == "Customer: sure, my card number is [redacted], expiring in December.", how


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111111111111111", "[redacted]"),
        ("(4111 1111 1111 1111)", "([redacted])"),
        ("number: 4111-1111-1111-1111.", "number: [redacted]."),
        ("it's 5500 0000 0000 0004\nthanks", "it's [redacted]\nthanks"),
        # Speech-to-text joins what was said next: the expiry and the code stay (the code is
        # taken only after its keyword), the card goes.
        ("4111 1111 1111 1111 12 25", "[redacted] 12 25"),
        ("3782 822463 10005 1234", "[redacted] 1234"),
        ("order 4411 5 4111 1111 1111 1111", "order 4411 5 [redacted]"),
        # Two cards in one breath.
        ("4111 1111 1111 1111 5555 5555 5555 4444", "[redacted] [redacted]"),
        # Digits of other scripts are digits.
        ("\uff14" + "\uff11" * 15 + " ok", "[redacted] ok"),
    ],
)
def test_card_numbers_in_context(text: str, expected: str) -> None:
    assert redact(text) == expected


def broken(number: str) -> str:
    """The number with its last digit changed: Luhn catches every single-digit error."""
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert not luhn_ok(wrong)
    return wrong


@pytest.mark.parametrize("brand", sorted(CARDS))
def test_a_number_failing_luhn_stays(brand: str) -> None:
    wrong = broken(CARDS[brand])
    # Written whole, or a 16-digit one in fours, a run can only be judged as one number.
    candidates = (
        [wrong, grouped(wrong, (4,) * 4), grouped(wrong, (4,) * 4, "-")] if len(wrong) == 16 else [wrong]
    )
    for written in candidates:
        text = f"the reference is {written}."
        assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "call me back on +48 601 234 567",
        "my number is 0048 601 234 567, or 601-234-567",
        "+1 415 555 2671 and +44 20 7946 0958",
        "+4915112345678901",
        "order 100234 and order ZAM/2024/12345",
        "order number 1234567890123",  # 13 digits, fails Luhn
        "the order is 7777 8888 9999 0001",  # 16 in fours, fails Luhn
        "tracking 00340434161094042557, DPD 05377701603527, UPS 1Z999AA10123456784",
        "it came on 12.03.2026 at 14:30, 1 299,99 zł, 2024-12-03",
        "4111.1111.1111.1111 and 4111, 1111, 1111, 1111",  # not one run: "," and "." end it
        "4111 1111  1111 1111",  # two spaces end a run too
        "INV4111111111111111 and 4111111111111111X",  # part of an identifier
        "0000 0000 0000 0000",  # passes Luhn, but no card starts with 0
        "Zażółć gęślą jaźń — “cytat” … 😀 \t tabs\r\n",
    ],
)
def test_numbers_that_are_not_cards_stay(text: str) -> None:
    assert redact(text) == text


def test_the_not_cards_really_fail_luhn() -> None:
    assert not luhn_ok("1234567890123")
    assert not luhn_ok("7777888899990001")


# --- Security codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CVV is 123", "CVV is [redacted]"),
        ("cvv: 123.", "cvv: [redacted]."),
        ("and the CVV2 is, uh, 456", "and the CVV2 is, uh, [redacted]"),
        ("CVC 1 2 3", "CVC [redacted]"),
        ("the CID is 1234", "the CID is [redacted]"),
        ("my security code is 789", "my security code is [redacted]"),
        ("card verification value 321", "card verification value [redacted]"),
        (
            "the three digits on the back of the card are 999",
            "the three digits on the back of the card are [redacted]",
        ),
        ("Agent: and the CVV?\nCustomer: 123", "Agent: and the CVV?\nCustomer: [redacted]"),
        ("CVV 123 12 25", "CVV [redacted] 12 25"),  # the code, then the expiry: the expiry stays
        ("CVV / CVC 555", "CVV / CVC [redacted]"),
        ("the CVV is, hm, let me see, 123", "the CVV is, hm, let me see, [redacted]"),  # five words
        # Polish
        ("kod CVV to 456", "kod CVV to [redacted]"),
        ("kod bezpieczeństwa: 789", "kod bezpieczeństwa: [redacted]"),
        ("podaj kodu bezpieczenstwa 321", "podaj kodu bezpieczenstwa [redacted]"),
        ("trzy cyfry z tyłu karty to 654", "trzy cyfry z tyłu karty to [redacted]"),
        ("kod zabezpieczający 111", "kod zabezpieczający [redacted]"),
        # German
        ("Der Sicherheitscode lautet 321", "Der Sicherheitscode lautet [redacted]"),
        ("die Prüfnummer ist 4321", "die Prüfnummer ist [redacted]"),
        ("Kartenpruefnummer 876", "Kartenpruefnummer [redacted]"),
        ("die drei Ziffern auf der Rückseite sind 246", "die drei Ziffern auf der Rückseite sind [redacted]"),
    ],
)
def test_a_security_code_after_its_keyword_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I don't know the CVV",
        "no CVV, but my order 1234 is late",  # another number's story
        "kein Sicherheitscode, Bestellung 5678",
        "nie mam kodu CVV, zamówienie 4321",
        "CID 601 234 567",  # caller id: a phone number, not a code
        "the CVV is, hm, let me see now, 123",  # six words: too far from its keyword
        "CVV 12345",  # no code has five digits
        "CVV 12",
        "CVV123abc and cvv 123abc",
        "scvv 123 and cvva 123",  # not the word
        "order 1234 and CVV",
    ],
)
def test_numbers_near_no_code_keyword_stay(text: str) -> None:
    assert redact(text) == text


def test_a_card_then_its_code_then_its_expiry() -> None:
    text = "Customer: 4111 1111 1111 1111, expiry 12/25, CVV 123, and my order is 100234."
    assert redact(text) == "Customer: [redacted], expiry 12/25, CVV [redacted], and my order is 100234."


def test_a_code_said_in_the_next_segment_is_redacted() -> None:
    assert redact_segments(
        ["Agent: what's the CVV?", "Customer: it's 123", "Agent: and the order? 4567"]
    ) == [
        "Agent: what's the CVV?",
        f"Customer: it's {REDACTED}",
        "Agent: and the order? 4567",
    ]


def test_segments_keep_their_count_and_reach_no_further_than_a_code() -> None:
    # A card is never put together from two utterances, and texts with line breaks of their
    # own come back as they were cut.
    segments = ["4111 1111", "1111 1111", "line one\nline two", "", "4111111111111111"]
    assert redact_segments(segments) == ["4111 1111", "1111 1111", "line one\nline two", "", REDACTED]
    assert redact_segments([]) == []


# --- IBANs ---------------------------------------------------------------------------------------

# The SWIFT IBAN registry's examples.
IBANS = [
    "PL61109010140000071219812874",
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "CH9300762011623852957",
    "AT611904300234573201",
    "BE68539007547034",
    "NO9386011117947",
    "MT84MALT011000012345MTLCAST001S",
]


def test_the_registry_examples_are_valid() -> None:
    assert all(iban_ok(iban) for iban in IBANS)


@pytest.mark.parametrize("iban", IBANS)
def test_an_iban_is_redacted_with_or_without_spaces(iban: str) -> None:
    for written in (iban, grouped(iban, (4,) * 8), iban.lower(), grouped(iban.lower(), (4,) * 8)):
        assert redact(f"please refund to {written}, thank you") == "please refund to [redacted], thank you"


@pytest.mark.parametrize("iban", IBANS)
def test_an_invalid_iban_stays(iban: str) -> None:
    wrong = iban[:-1] + ("0" if iban[-1] != "0" else "1")
    assert not iban_ok(wrong)
    for written in (wrong, grouped(wrong, (4,) * 8)):
        text = f"please refund to {written}, thank you"
        assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # What follows an IBAN in groups of four is not part of it.
        ("PL61 1090 1014 0000 0712 1981 2874 that was it", "[redacted] that was it"),
        ("PL61 1090 1014 0000 0712 1981 2874 1234", "[redacted] 1234"),
        ("DE89 3704 0044 0532 0130 00 PL61 1090 1014 0000 0712 1981 2874", "[redacted] [redacted]"),
        ("XX12 PL61 1090 1014 0000 0712 1981 2874", "XX12 [redacted]"),
        # Said aloud, cut where the speaker took a breath.
        ("DE89 370 400 44 0532 013 000", "[redacted]"),
        ("DE89 370 400 44 0532 013 001", "DE89 370 400 44 0532 013 001"),
        # Said the Polish way, without the country code.
        ("na konto 61 1090 1014 0000 0712 1981 2874", "na konto [redacted]"),
        ("na konto 61109010140000071219812874.", "na konto [redacted]."),
        # Not an IBAN: too short, words, glued to a word.
        ("PS50 will have your game", "PS50 will have your game"),
        ("NO93 8601", "NO93 8601"),
        ("xPL61109010140000071219812874", "xPL61109010140000071219812874"),
        ("na konto 61 1090 1014 0000 0712 1981 2875", "na konto 61 1090 1014 0000 0712 1981 2875"),
    ],
)
def test_ibans_in_context(text: str, expected: str) -> None:
    assert redact(text) == expected


# --- Properties ----------------------------------------------------------------------------------

# Text with no digits at all: nothing in it can be redacted, so whatever changes is the number's.
NO_DIGITS = st.text(st.characters(blacklist_categories=["Nd", "Cs"]), max_size=60)
# What may stand between a number and the words around it.
BETWEEN = st.sampled_from([" ", "\n", ": ", ", ", " (", ") ", "\t", " — ", "-", "\u00a0", "“", "."])


@st.composite
def luhn_valid_16(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=14, max_size=14))
    return with_check_digit(draw(st.sampled_from("123456789")) + body)


@FAST
@given(
    left=NO_DIGITS,
    right=NO_DIGITS,
    before=BETWEEN,
    after=BETWEEN,
    card=luhn_valid_16(),
    how=st.integers(0, 3),
)
@example(left="", right="", before=" ", after=" ", card="4111111111111111", how=0)
def test_any_luhn_valid_card_in_any_text_disappears(
    left: str, right: str, before: str, after: str, card: str, how: int
) -> None:
    written = [card, grouped(card, (4,) * 4), grouped(card, (4,) * 4, "-"), " ".join(card)][how]
    assert redact(left + before + written + after + right) == left + before + REDACTED + after + right


@FAST
@given(text=NO_DIGITS)
def test_text_without_digits_is_unchanged(text: str) -> None:
    assert redact(text) == text


@FAST
@given(left=NO_DIGITS, number=st.text("0123456789", min_size=13, max_size=19))
def test_a_single_luhn_failing_number_stays(left: str, number: str) -> None:
    if luhn_ok(number):
        number = broken(number)
    text = left + " " + number + " " + left
    assert redact(text) == text


# Pieces a transcript is made of, for the properties that need everything at once.
FRAGMENTS = st.one_of(
    st.sampled_from(
        [
            "CVV",
            "cvv is",
            "kod CVV",
            "Sicherheitscode",
            "the three digits on the back are",
            "order",
            "[redacted]",
            "[",
            "]",
            "redacted",
            "PL61",
            "PL",
            "DE89",
            "XX12",
            "+",
            "0048",
            "12/25",
            "4111 1111 1111 1111",
            "4111111111111111",
            "5500-0000-0000-0004",
            "3782 822463 10005",
            "PL61 1090 1014 0000 0712 1981 2874",
            "DE89370400440532013000",
            "61 1090 1014 0000 0712 1981 2874",
            "GB29 NWBK 6016 1331 9268 19",
            "601 234 567",
            "ąę",
            "ß",
            "\n",
            "😀",
            "NWBK",
            "that",
        ]  # fmt: skip
    ),
    st.text("0123456789", min_size=1, max_size=5),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=6),
)
GLUE = st.sampled_from(["", " ", " ", "-", ", ", ".", "\n", "  "])


@st.composite
def transcripts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(FRAGMENTS, GLUE), max_size=30))
    return "".join(fragment + glue for fragment, glue in pieces)


@FAST
@given(text=transcripts())
@example(text="cvv [redacted] 12 25")
@example(text="CVV 123 4111111111111111x")
@example(text="PL61 1090 1014 0000 0712 1981 2874 PL61 1090 1014 0000 0712 1981 2874")
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@FAST
@given(text=transcripts())
def test_only_numbers_and_account_groups_are_replaced(text: str) -> None:
    """Cut at each `[redacted]`, the output is the input with only runs of letters, digits and
    the separators between groups taken out: every other character stays where it was."""
    pieces = redact(text).split(REDACTED)
    taken = r"(?:\[redacted\]|[\w \u00a0\u202f\-\u2010-\u2013]+?)"  # or one that was there
    pattern = taken.join(re.escape(piece) for piece in pieces)
    assert re.fullmatch(pattern, text, re.DOTALL) is not None


def reference_cards(groups: list[str]) -> list[tuple[int, int]]:
    """The rule for one run, by brute force: from the left, at each group the longest window of
    whole groups that is a card (13-19 digits, not starting with 0, Luhn-valid), then on after it;
    a run that is 26 digits and a Polish account number as a whole goes whole, and one printed
    as banks print those is one even when it fails."""
    digits = "".join(groups)
    if len(digits) == 26 and iban_ok("PL" + digits):
        return [(0, len(groups))]
    if [len(group) for group in groups] == [2, 4, 4, 4, 4, 4, 4]:
        return []
    found, k = [], 0
    while k < len(groups):
        ends = [
            j
            for j in range(k + 1, len(groups) + 1)
            if 13 <= len("".join(groups[k:j])) <= 19 and groups[k][0] != "0" and luhn_ok("".join(groups[k:j]))
        ]
        if ends:
            found.append((k, max(ends)))
            k = max(ends)
        else:
            k += 1
    return found


@settings(FAST, max_examples=500)
@given(
    groups=st.lists(st.text("0123456789", min_size=1, max_size=5), min_size=1, max_size=40),
    cards=st.lists(luhn_valid_16(), max_size=2),
    sep=st.sampled_from([" ", "-"]),
    data=st.data(),
)
def test_runs_of_groups_follow_the_rule(
    groups: list[str], cards: list[str], sep: str, data: st.DataObject
) -> None:
    for card in cards:  # cards in the run, so that there is something to find
        at = data.draw(st.integers(0, len(groups)))
        groups[at:at] = grouped(card, data.draw(st.sampled_from([(16,), (4, 4, 4, 4), (1,) * 16]))).split()
    expected = groups[:]
    for k, j in reversed(reference_cards(groups)):
        expected[k:j] = [REDACTED]
    assert redact("x " + sep.join(groups) + " y") == "x " + sep.join(expected) + " y"


# --- Size --------------------------------------------------------------------------------------


def test_a_two_hour_transcript_is_redacted_whole() -> None:
    lines = [
        "Customer: hi, I'm calling about order 100234, it has not arrived yet. ",
        "Agent: can I have the card you paid with? Customer: 4111 1111 1111 1111, expiry 12/25, CVV 123. ",
        "Agent: I will call you back on +48 601 234 567. ",
        "Customer: refund it to PL61 1090 1014 0000 0712 1981 2874 please. ",
        "Klient: mój kod CVV to 456, a zamówienie 12345. Tracking 00340434161094042557. ",
        "Kunde: der Sicherheitscode lautet 321, die Bestellung 998877, Zażółć gęślą jaźń. ",
    ]
    cycles = 460
    text = "".join(lines) * cycles
    assert len(text) > 200_000
    out = redact(text)
    assert (
        out.count(REDACTED) == cycles * 5
    )  # 2 in the card line, 1 each in the IBAN, CVV, Sicherheitscode lines
    for secret in ("4111", "1981 2874", "CVV 123", "CVV to 456", "lautet 321"):
        assert secret not in out
    for kept in ("order 100234", "+48 601 234 567", "zamówienie 12345", "00340434161094042557", "998877"):
        assert out.count(kept) == cycles


@pytest.mark.parametrize(
    "text",
    [
        "1 " * 100_000,  # one-digit groups: every window of 13-19 digits is looked at
        "7" * 200_000,
        "PL61 " * 40_000,  # every group the head of an IBAN
        "AB12 3456 " * 20_000,
        "cvv " * 50_000,
        "cvv" + " " * 199_997,
        "cvv " + "[" * 199_990 + " 123",
        "a1" * 100_000,
    ],
)
def test_text_made_to_be_slow_is_redacted(text: str) -> None:
    # Finishing is the test (backtracking would not); the benchmark figures are in the report.
    assert redact(text) == redact(redact(text))


def test_a_card_inside_a_very_long_run_is_found() -> None:
    # Read out digit by digit amid 100,000 other digits: zeros before it (no card starts with
    # 0), ones after it (no run of ones is a card, nor the card with ones after it), so the card
    # is the one window there is.
    card = "4111111111111111"
    assert not any(luhn_ok(card + "1" * n) for n in (1, 2, 3))
    assert not any(luhn_ok("1" * n) for n in range(13, 20))
    zeros, ones = "0 " * 50_000, " 1" * 50_000
    assert redact(zeros + " ".join(card) + ones) == zeros + REDACTED + ones
