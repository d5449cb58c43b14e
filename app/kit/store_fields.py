"""The checks of a store's region, currency and time zone, as the settings (RINGCARD_*) and the
stores API (app/stores/records.py) both read them: one wording for one mistake."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.kit.money import CURRENCY_EXPONENTS

# phonenumbers is imported where used: the settings are read by every `ringcard` command, and
# most never read a phone number.


def region_code(value: str) -> str:
    """An ISO 3166 region phone numbers are read in, upper-cased; ValueError otherwise."""
    import phonenumbers

    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {value!r}; use an ISO 3166 code such as PL or DE")
    return region


def currency_code(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise ValueError(f"unknown ISO 4217 currency {value!r}")
    return code


def time_zone_name(value: str) -> str:
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Warsaw") from None
    return value.strip()


def zone_of_region(region: str) -> str:
    """A region's time zone: its example number's (Europe/Warsaw for PL, Europe/Berlin for DE)."""
    import phonenumbers
    from phonenumbers import timezone as number_zones

    example = phonenumbers.example_number(region)
    zones = number_zones.time_zones_for_number(example) if example else ()
    return next((zone for zone in zones if "/" in zone), "UTC")
