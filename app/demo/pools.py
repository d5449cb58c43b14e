"""What the demo store is drawn from: four countries' names, cities and phone spellings, the mix of
order statuses, products and case subjects. Fixed tables and a seeded draw, so the store that
data.py builds from them is the same on every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers


@dataclass(frozen=True)
class Country:
    region: str
    currency: str
    cities: tuple[str, ...]
    female: tuple[tuple[str, str], ...]  # (first name, last name) pools are zipped at random
    male: tuple[tuple[str, str], ...]
    mobile_prefixes: tuple[str, ...]
    formats: tuple[str, ...]


def pairs(firsts: str, lasts: str) -> tuple[tuple[str, str], ...]:
    return tuple((f, ln) for f in firsts.split() for ln in lasts.split())


COUNTRIES = (
    Country(
        "PL",
        "PLN",
        ("Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin", "Lublin"),
        pairs(
            "Anna Katarzyna Małgorzata Agnieszka Magdalena Joanna Zofia Ewa",
            "Nowak Kowalska Wiśniewska Wójcik Kamińska Lewandowska Zielińska Dąbrowska Woźniak",
        ),
        pairs(
            "Krzysztof Piotr Tomasz Łukasz Michał Paweł Wojciech Jakub Grzegorz",
            "Nowak Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński Dąbrowski Woźniak",
        ),
        ("50", "51", "53", "57", "60", "66", "69", "72", "78", "79", "88"),
        ("+48 {a} {b} {c}", "{a}-{b}-{c}", "0048{a}{b}{c}", "(+48) {a}{b}{c}", "{a} {b} {c}", "+48{a}{b}{c}"),
    ),
    Country(
        "DE",
        "EUR",
        ("Berlin", "München", "Hamburg", "Köln", "Leipzig", "Düsseldorf"),
        pairs("Lena Sophie Claudia Anna Marie", "Müller Schmidt Schneider Fischer Weber Schäfer Köhler"),
        pairs("Lukas Jonas Jürgen Leon Felix", "Müller Schmidt Schneider Fischer Weber Schäfer Köhler"),
        ("151", "152", "160", "170", "176"),
        ("+49 {a} {b}{c}", "0049 {a} {b} {c}", "+49 (0){a} {b}{c}"),
    ),
    Country(
        "GB",
        "GBP",
        ("London", "Manchester", "Leeds", "Bristol", "Edinburgh"),
        pairs("Amelia Olivia Emily Charlotte Grace", "Smith Jones Taylor Brown Williams Wilson Davies"),
        pairs("Oliver George Harry James Jack", "Smith Jones Taylor Brown Williams Wilson Davies"),
        ("7911", "7700", "7400", "7500"),
        ("+44 {a} {b}{c}", "0044{a}{b}{c}", "+44 (0){a} {b} {c}"),
    ),
    Country(
        "IL",
        "ILS",
        ("תל אביב", "ירושלים", "חיפה", "באר שבע"),
        pairs("נועה מאיה תמר שרה", "כהן לוי מזרחי פרץ ביטון פרידמן"),
        pairs("יוסף דוד אברהם משה", "כהן לוי מזרחי פרץ ביטון פרידמן"),
        ("52", "54", "50", "58"),
        ("+972 {a}-{b}-{c}", "+972{a}{b}{c}", "00972 {a} {b} {c}"),
    ),
)
COUNTRY_WEIGHTS = (70, 12, 10, 8)

STATUS_WEIGHTS = {
    "delivered": 55,
    "shipped": 10,
    "processing": 8,
    "pending": 5,
    "on_hold": 3,
    "cancelled": 8,
    "refunded": 5,
    "failed": 3,
}
FINANCIAL = {
    "pending": "pending",
    "processing": "paid",
    "on_hold": "pending",
    "shipped": "paid",
    "delivered": "paid",
    "cancelled": "voided",
    "refunded": "refunded",
    "failed": "failed",
}
FULFILMENT = {"shipped": "fulfilled", "delivered": "fulfilled"}
PRODUCTS = (
    "Linen duvet cover 200×220",  # noqa: RUF001 - the real product name
    "Ceramic mug, forest green",
    "Wool blanket",
    "Espresso cups (set of 4)",
    "Oak serving board",
    "Cotton bath towel",
    "Scented candle — cedar",
    "Table runner, natural",
    "Cast-iron skillet 26 cm",
    "Glass carafe 1 l",
)
COMPLAINTS = (
    "Parcel arrived damaged",
    "Wrong colour delivered",
    "Item missing from the parcel",
    "Courier did not deliver, marked as delivered",
)
RETURNS = ("Return: does not fit", "Return: changed my mind", "Return: not as described")
EXCHANGES = ("Exchange for a larger size", "Exchange for another colour")
# Cases on delivered orders: (share of orders below which, kind, statuses, subjects, opened after).
CASES_ON_DELIVERED = (
    (0.06, "complaint", ("open", "in_progress", "resolved"), COMPLAINTS, timedelta(days=4)),
    (0.12, "return", ("open", "in_progress", "closed"), RETURNS, timedelta(days=5)),
    (0.15, "exchange", ("open", "in_progress", "resolved"), EXCHANGES, timedelta(days=5)),
)


def random_phone(rng: random.Random, country: Country) -> str:
    """A valid mobile of the country, written the way people really type them."""
    while True:
        prefix = rng.choice(country.mobile_prefixes)
        body_len = {"PL": 9, "DE": 11, "GB": 10, "IL": 9}[country.region] - len(prefix)
        digits = prefix + "".join(rng.choice("0123456789") for _ in range(body_len))
        parsed = phonenumbers.parse(digits, country.region)
        if phonenumbers.is_valid_number(parsed):
            break
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rng.choice(country.formats).format(a=a, b=b, c=c)


def random_time_before(rng: random.Random, now: datetime, max_days: float, min_days: float = 0) -> datetime:
    return now - timedelta(days=rng.uniform(min_days, max_days))
