"""Payment card numbers, security codes and bank account numbers taken out of a transcript before
it is stored or sent to a model: PCI DSS forbids storing a card's security code, and no call note
needs a full card or account number. Each becomes `[redacted]`.

Speech-to-text writes what a caller reads out as digits in groups ("4111 1111 1111 1111",
"4111-1111-1111-1111"), so the unit looked at is a *run*: digits with single spaces or dashes
between them. A card or an account is recognised by its check digits (Luhn for cards, ISO 13616
mod-97 for IBANs), which is what keeps order numbers, phone numbers and tracking numbers in the
transcript. Everything not redacted stays byte for byte, `redact(redact(x)) == redact(x)`, and
every step is one left-to-right scan with a bounded look-ahead: the time is linear in the length,
with small constants even for text made to be slow (see `_card_windows_at_once`)."""

from __future__ import annotations

import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate, repeat

REDACTED = "[redacted]"

CARD_MIN, CARD_MAX = 13, 19  # ISO/IEC 7812 primary account numbers
# A Polish account number as said at home is a PL IBAN without its "PL": 26 digits, redacted
# when they pass the same check.
NRB_DIGITS = 26
_NRB_COUNTRY = "2521"  # "PL" as mod-97 reads letters (P=25, L=21)
_NRB_PRINTED = [2, 4, 4, 4, 4, 4, 4]  # how banks print one: "61 1090 1014 0000 0712 1981 2874"
IBAN_MIN, IBAN_MAX = 15, 34  # Norway's is the shortest; ISO 13616 allows 30 after the check digits
# The part after the check digits is an account number: ordinary words after a "PS50"-like token,
# four letters each, are not one.
_IBAN_MIN_DIGITS = 8

# What speech-to-text (and people) put between digit groups. Not "," or "." ("12, 15." are two
# numbers), and not two in a row.
_SEPARATOR = "[ \u00a0\u202f\\-\u2010\u2011\u2012\u2013]"
_RUN = re.compile(rf"\d+(?:{_SEPARATOR}\d+)*")
_SPLIT_RUN = re.compile(_SEPARATOR)
_GROUP = re.compile(r"\d+")
_DIGIT = re.compile(r"\d")

# An IBAN starts a word with two letters and two digits, and is that word (written without
# spaces) or that word and the groups after it. ASCII only: that is what int(…, 36) and
# the letter table read, and what IBANs are made of.
_IBAN_HEAD = re.compile(r"(?<![^\W_])[A-Za-z]{2}[0-9]{2}")
_IBAN_WORD = re.compile(r"[A-Za-z0-9]+(?![^\W_])")
_IBAN_GROUPS = re.compile(r"[A-Za-z0-9]{1,4}(?: [A-Za-z0-9]{1,4})*(?![^\W_])")

_SECURITY_KEYWORD = re.compile(
    # The look-ahead turns most positions away at once (each keyword's first letter).
    r"(?=[cskftpdv34])(?<!\w)(?:"
    r"cvv2?|cvc2?|cvn|csc|cid"
    r"|security\s+(?:code|number)|card\s+verification(?:\s+(?:code|value|number))?"
    r"|(?:three|four|3|4)\s+digits\s+on\s+the\s+(?:back|front)"
    # Polish: "kod/kodu/kodem bezpieczeństwa", "kod zabezpieczający", "trzy cyfry z tyłu karty"
    r"|kod\w{0,3}\s+bezpiecze[nń]stwa|kod\w{0,3}\s+zabezpieczaj\w*"
    r"|(?:trzy|cztery|3|4)\s+cyfr\w?\s+(?:z\s+ty[łl]u|na\s+odwrocie)"
    # German: "Sicherheitscode", "(Karten)prüfnummer", also as transcribed without the umlaut
    r"|sicherheits(?:code|nummer)|(?:karten)?pr(?:ü|ue|u)f(?:nummer|ziffer|code)"
    r"|(?:drei|vier|3|4)\s+ziffern\s+auf\s+der\s+r(?:ü|ue|u)ckseite"
    r")(?!\w)",
    re.IGNORECASE,
)
# After a keyword: punctuation and spaces (line breaks too: the code is often the answer on the
# next line), then the next word, number, or an earlier redaction.
_NEXT_TOKEN = re.compile(
    r"[^\w\[]*(?:\[(?!redacted\])[^\w\[]*)*"
    rf"(?:(?P<done>\[redacted\])|(?P<number>\d+(?:{_SEPARATOR}\d+)*)|(?P<word>[^\W\d]+))"
)
# "CVV is, uh, 123", "the three digits on the back of the card are 123": the code comes within a
# few words of its keyword, or it was not said there.
_WORDS_BEFORE_CODE = 5
# A word that starts another number's story ends the search, so "no CVV, order 1234" keeps it.
_OTHER_NUMBERS = (
    "order",
    "invoice",
    "tracking",
    "phone",
    "zamówien",
    "zamowien",
    "faktur",
    "telefon",
    "bestell",
    "rechnung",
    "sendung",
)

Span = tuple[int, int]


def redact(text: str) -> str:
    """`text` with card numbers, security codes and IBANs replaced with `[redacted]`."""
    return _redact_marked(text, [])[0]


def redact_segments(texts: Sequence[str]) -> list[str]:
    """Each text redacted, in order, as one conversation: a security code said in the reply to
    "what is the CVV?" is redacted too. Nothing else reaches from one text into the next."""
    joined = "\n".join(texts)
    marks = list(accumulate((len(text) + 1 for text in texts[:-1]), initial=-1))[1:]
    out, moved = _redact_marked(joined, marks)
    bounds = [-1, *moved, len(out)]
    return [out[bounds[i] + 1 : bounds[i + 1]] for i in range(len(texts))]


def _redact_marked(text: str, marks: list[int]) -> tuple[str, list[int]]:
    """The three passes, each on the previous one's output; `marks` (positions of characters no
    span covers: line breaks) are carried along. IBANs go first so that their digits are never
    read as a card, and security codes last so that a code is looked for only where no card was."""
    if _DIGIT.search(text) is None:  # most utterances: nothing of the three is without digits
        return text, marks
    for find in (_iban_spans, _digit_run_spans, _security_code_spans):
        spans = list(find(text))
        if spans:
            text, marks = _apply(text, spans, marks)
    return text, marks


def _apply(text: str, spans: list[Span], marks: list[int]) -> tuple[str, list[int]]:
    pieces: list[str] = []
    moved: list[int] = []
    last = shift = index = 0
    for start, end in spans:
        while index < len(marks) and marks[index] < start:
            moved.append(marks[index] + shift)
            index += 1
        pieces += (text[last:start], REDACTED)
        last = end
        shift += len(REDACTED) - (end - start)
    moved += (mark + shift for mark in marks[index:])
    pieces.append(text[last:])
    return "".join(pieces), moved


def _glued(text: str, start: int, end: int) -> bool:
    """Digits written against letters belong to an identifier (what is left of an invalid IBAN,
    a reference like "ZAM2024…"), and digits after "+" to a phone number: a card read aloud is
    neither."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return before == "+" or before.isalnum() or before == "_" or after.isalnum() or after == "_"


# --- IBANs ---------------------------------------------------------------------------------------

# mod-97 reads letters as numbers, A=10 … Z=35.
_AS_NUMBERS = str.maketrans({c: str(10 + i) for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")})
_POW10 = [pow(10, n, 97) for n in range(9)]  # a group of 4 letters reads as 8 digits


def _iban_spans(text: str) -> Iterator[Span]:
    pos = 0
    while (head := _IBAN_HEAD.search(text, pos)) is not None:
        start = head.start()
        word = _IBAN_WORD.match(text, start)
        if word is None:
            pos = start + 1
        elif word.end() - start > 4:  # written without spaces: the whole word or nothing
            value = word.group().upper()
            if _iban_valid(value[4:] + value[:4], len(value), sum(map(str.isdigit, value[4:]))):
                yield word.span()
            pos = word.end()
        else:
            groups = _IBAN_GROUPS.match(text, start)
            assert groups is not None  # the word of four is one
            yield from _spaced_ibans(text, start, groups.end())
            pos = groups.end()


def _iban_valid(rearranged: str, size: int, account_digits: int) -> bool:
    """ISO 13616: the account, then the country and check digits, read as one number, is 1 mod 97."""
    if not IBAN_MIN <= size <= IBAN_MAX or account_digits < _IBAN_MIN_DIGITS:
        return False
    return int(rearranged.translate(_AS_NUMBERS)) % 97 == 1


def _spaced_ibans(text: str, start: int, end: int) -> Iterator[Span]:
    """IBANs in a line of groups of 1-4 letters and digits (`text[start:end]`, the first one a
    head). Printed in fours, an IBAN ends with a shorter group, but said aloud it may be cut
    anywhere, so any group may be short. Each group is read once, however many candidates hold
    it. An IBAN may be followed by more groups (a word of four letters, the next number), so the
    longest valid run of groups from a head is the IBAN; a head that has none may be followed by
    one that has ("XX12 PL61 …")."""
    words = text[start:end].upper().split(" ")
    offsets = list(accumulate((len(word) + 1 for word in words), initial=start))  # where each starts
    numbers = [word.translate(_AS_NUMBERS) for word in words]
    # Per group: its size; 10 ** (its length as digits) mod 97, to shift what was read before it;
    # its value mod 97; how many digits it has.
    sizes = [len(word) for word in words]
    shifts = [_POW10[len(number)] for number in numbers]
    residues = [int(number) % 97 for number in numbers]
    digit_counts = [sum(map(str.isdigit, word)) for word in words]
    k = 0
    while k < len(words):
        found = None
        head = words[k]
        if sizes[k] == 4 and head[:2].isalpha() and head[2:].isdigit():
            country_and_check = int(numbers[k])  # read last, after the account
            residue = size = digits = 0
            for j in range(k + 1, min(k + 31, len(words))):  # 30 characters after the head at most
                residue = (residue * shifts[j] + residues[j]) % 97
                size += sizes[j]
                digits += digit_counts[j]
                if size > IBAN_MAX - 4:
                    break
                if (
                    size >= IBAN_MIN - 4
                    and digits >= _IBAN_MIN_DIGITS
                    and (residue * 1_000_000 + country_and_check) % 97 == 1
                ):
                    found = j
        if found is None:
            k += 1
            continue
        yield offsets[k], offsets[found] + sizes[found]
        k = found + 1


# --- Card numbers (and Polish account numbers) in digit runs -------------------------------------

_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a digit doubled, its two digits added (Luhn)
_PLAIN = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLE = bytes.maketrans(b"0123456789", bytes(_DOUBLED))
# Runs of more groups than this are searched all windows at once (`_card_windows_at_once`).
_FEW_GROUPS = 12


def _digit_run_spans(text: str) -> Iterator[Span]:
    for run in _RUN.finditer(text):
        start, end = run.span()
        if end - start < CARD_MIN or _glued(text, start, end):
            continue
        parts = _SPLIT_RUN.split(run.group())
        digits = "".join(parts)
        if not digits.isascii():
            digits = "".join(str(int(c)) for c in digits)  # another script's digits, read as 0-9
        if len(digits) < CARD_MIN:
            continue
        if len(digits) == NRB_DIGITS:
            if int(digits[2:] + _NRB_COUNTRY + digits[:2]) % 97 == 1:
                yield start, end
                continue
            if list(map(len, parts)) == _NRB_PRINTED:
                continue  # an account number misheard, not a card and something else
        bounds = list(accumulate(map(len, parts), initial=0))  # digits before each group
        # One separator character between groups: group k starts k characters after its digits.
        for first, stop in _card_windows(digits.encode("ascii"), bounds):
            k, last = bisect_left(bounds, first), bisect_left(bounds, stop)
            yield start + first + k, start + stop + last - 1


def _card_windows(raw: bytes, bounds: list[int]) -> Iterator[Span]:
    """Windows [a, b) of whole groups of the run `raw` (its digits; `bounds`, where its groups
    start and end) that are a card number: 13-19 digits, not starting with 0 (no card does, and
    "0048 601 …" is a phone number), passing Luhn. A run may be more than a card: speech-to-text
    joins the card to the expiry or the code said after it, or to a number said before it. From
    the left, the longest window at each group wins, and the search goes on after it."""
    if len(bounds) - 1 > _FEW_GROUPS:
        yield from _card_windows_at_once(raw, bounds)
        return
    k = 0
    while k < len(bounds) - 1:
        a = bounds[k]
        stop = None
        if raw[a] != 0x30:
            for j in range(bisect_right(bounds, a + CARD_MAX) - 1, bisect_left(bounds, a + CARD_MIN) - 1, -1):
                if _luhn(raw[a : bounds[j]]):
                    stop = j
                    break
        if stop is None:
            k += 1
            continue
        yield a, bounds[stop]
        k = stop


def _luhn(digits: bytes) -> bool:
    backwards = digits[::-1]
    return (sum(backwards[0::2].translate(_PLAIN)) + sum(backwards[1::2].translate(_DOUBLE))) % 10 == 0


def _card_windows_at_once(raw: bytes, bounds: list[int]) -> Iterator[Span]:
    """`_card_windows` for a long run, in C-speed steps whatever the number of groups, so that a
    run of 100,000 one-digit groups costs milliseconds: with every second digit doubled counting
    back from b - 1, [a, b) passes Luhn when the running sums mod 10 agree at a and at b, and a
    byte string of those sums compared with itself shifted by the window's length, as one big
    integer, marks every window of that length that passes."""
    n = len(raw) + 1  # positions 0..len(raw), between digits
    plain, doubled = raw.translate(_PLAIN), raw.translate(_DOUBLE)
    doubled_even, doubled_odd = bytearray(plain), bytearray(plain)
    doubled_even[0::2] = doubled[0::2]
    doubled_odd[1::2] = doubled[1::2]
    even_sums = bytes(map(operator.mod, accumulate(doubled_even, initial=0), repeat(10)))
    odd_sums = bytes(map(operator.mod, accumulate(doubled_odd, initial=0), repeat(10)))
    # A window ending at an even b doubles the digits at even indexes and compares even sums; one
    # ending at an odd b, odd sums. `at_end` holds the sum each end compares; a start compares the
    # same kind when the window's length is even, and the other kind when it is odd.
    at_end, other = bytearray(even_sums), bytearray(odd_sums)
    at_end[1::2] = odd_sums[1::2]
    other[1::2] = even_sums[1::2]
    starts, ends = bytearray(n), bytearray(n)
    for offset in bounds[:-1]:
        if raw[offset] != 0x30:
            starts[offset] = 0x80
    for offset in bounds[1:]:
        ends[offset] = 0x80
    high, low = b"\x80" * n, b"\x7f" * n
    hits: dict[int, bytes] = {}
    any_hit = 0
    for length in range(CARD_MIN, min(CARD_MAX, n - 1) + 1):
        width = n - length
        # Sums are 0-9, so a byte of the XOR is 0 exactly where they agree, and adding 0x7f sets
        # its high bit exactly where they do not, never carrying into the next byte.
        differ = _number((at_end if length % 2 == 0 else other)[:width]) ^ _number(at_end[length:])
        passing = _number(high[:width]) & ~(differ + _number(low[:width]))
        passing &= _number(starts[:width]) & _number(ends[length:])
        if passing:
            hits[length] = passing.to_bytes(width, "big")
            any_hit |= passing << (8 * length)  # byte a is start a, as in `starts`
    if not hits:
        return
    starts_with_hit = any_hit.to_bytes(n, "big")
    a = starts_with_hit.find(0x80)
    while a != -1:
        length = max(size for size, marks in hits.items() if a < len(marks) and marks[a])
        yield a, a + length
        a = starts_with_hit.find(0x80, a + length)


def _number(data: bytes | bytearray) -> int:
    return int.from_bytes(data, "big")


# --- Security codes ------------------------------------------------------------------------------


def _security_code_spans(text: str) -> Iterator[Span]:
    """The first number within a few words after a keyword, when it is a 3-4 digit code. The
    keyword and the words between stay. An expiry date said next to the card stays too: on its
    own it is not a secret, and telling "12 25" from a quantity is guesswork."""
    keywords = list(_SECURITY_KEYWORD.finditer(text))
    last: Span | None = None
    for index, keyword in enumerate(keywords):
        # Each keyword looks only as far as the next one, which looks further with as many words
        # or more: the same codes are found, and a text full of keywords is still read once.
        limit = keywords[index + 1].start() if index + 1 < len(keywords) else len(text)
        span = _code_after(text, keyword.end(), limit)
        if span is not None and span != last:  # "CVV / CVC 123": both find the same code
            yield span
            last = span


def _code_after(text: str, pos: int, limit: int) -> Span | None:
    words = 0
    while words <= _WORDS_BEFORE_CODE and (token := _NEXT_TOKEN.match(text, pos, limit)) is not None:
        pos = token.end()
        if token.group("done") is not None:
            return None  # the code, or the card, was already taken out
        if (word := token.group("word")) is not None:
            if word.lower().startswith(_OTHER_NUMBERS):
                return None
            words += 1
            continue
        start, end = token.span("number")
        if _glued(text, start, end):
            return None
        groups = [group.span() for group in _GROUP.finditer(text, start, end)]
        total = sum(e - s for s, e in groups)
        if 3 <= total <= 4:  # "123", "1 2 3", "12 34"
            return start, end
        first = groups[0][1] - groups[0][0]
        if 3 <= first <= 4 and total - first <= 4:  # "123 12 25": the code, then the expiry
            return groups[0]
        return None
    return None
