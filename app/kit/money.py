"""ISO 4217 currencies and their minor-unit exponents, for validating and displaying money."""

from __future__ import annotations

from decimal import Decimal

_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
_TWO_DECIMALS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL "
    "GHS GIP GMD GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB "
    "PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP "
    "SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD YER ZAR ZMW ZWL"
)

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 0 for code in _ZERO_DECIMALS.split()},
    **{code: 2 for code in _TWO_DECIMALS.split()},
    **{code: 3 for code in _THREE_DECIMALS.split()},
    **{code: 4 for code in _FOUR_DECIMALS.split()},
}

# Money is stored as an integer count of 1/10,000 of the unit: exact on SQLite and PostgreSQL
# alike (SQLite has no true decimal type) and enough for every ISO currency's minor unit.
MONEY_SCALE = 10_000


def to_units(amount: Decimal) -> int:
    return int((amount * MONEY_SCALE).to_integral_value())


def from_units(units: int, currency: str) -> Decimal:
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    return (Decimal(units) / MONEY_SCALE).quantize(Decimal(1).scaleb(-exponent))


def format_amount(units: int, currency: str) -> str:
    return str(from_units(units, currency))
