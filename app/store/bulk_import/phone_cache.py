"""Phone index rows for the set-based import, normalised once per distinct number.

The writers normalise every phone of every record through phone_rows; on a backfill the same few
numbers come back again and again (a customer, then each of their orders, billing and shipping),
so this path remembers what a number became and what a list of numbers merged into."""

from __future__ import annotations

from typing import Any, Final

from app.store.phone_rows import phone_row

# A number as the index stores it: (merge key, e164, national, reversed digits, country code);
# None when there is nothing to match on, so no row.
PhoneFacts = tuple[str, str | None, str | None, str, int | None] | None
# An owner's index row without the owner: (source, raw, e164, national, reversed digits, country
# code).
PhoneRow = tuple[str, str, str | None, str | None, str, int | None]


class PhoneCache:
    """Index rows per list of phones, for one import. An order usually repeats its customer's
    number, often twice (billing and shipping), so most lookups hit and a number is normalised
    once."""

    LIMIT: Final = 100_000

    def __init__(self, region: str) -> None:
        self.region = region
        self._facts: dict[str, PhoneFacts] = {}
        self._rows: dict[tuple[tuple[str, str], ...], list[PhoneRow]] = {}

    def rows(self, phones: tuple[tuple[str, str], ...]) -> list[PhoneRow]:
        """One owner's rows for its phones given as (raw, source), merged exactly as
        phone_rows.owner_phone_rows merges them: one row per distinct number, sources
        comma-joined."""
        try:
            return self._rows[phones]
        except KeyError:
            pass
        merged: dict[str, list[Any]] = {}
        for raw, source in phones:
            facts = self._facts_of(raw)
            if facts is None:
                continue
            row = merged.get(facts[0])
            if row is None:
                merged[facts[0]] = [source, raw[:64], facts]
            else:
                sources = row[0].split(",")
                if source not in sources:
                    row[0] = ",".join([*sources, source])[:100]
        rows = [
            (source, raw, e164, national, reversed_digits, country_code)
            for source, raw, (_, e164, national, reversed_digits, country_code) in merged.values()
        ]
        if len(self._rows) >= self.LIMIT:
            # Numbers repeat close together (a customer, then their orders): a fresh start costs
            # little and keeps memory flat on a backfill of millions.
            self._rows.clear()
        self._rows[phones] = rows
        return rows

    def _facts_of(self, raw: str) -> PhoneFacts:
        try:
            return self._facts[raw]
        except KeyError:
            pass
        # phone_row is the index's definition of a row; only its owner and source vary.
        row = phone_row(raw, "", self.region)
        facts: PhoneFacts = None
        if row is not None:
            facts = (
                row["e164"] or row["reversed_digits"],
                row["e164"],
                row["national"],
                row["reversed_digits"],
                row["country_code"],
            )
        if len(self._facts) >= self.LIMIT:
            self._facts.clear()
        self._facts[raw] = facts
        return facts
