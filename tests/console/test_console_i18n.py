"""The console in the agent's language: every word the console shows comes from a catalogue
(js/locales/<tag>.js), every language has every English key with the same placeholders, and (in
chromium) the card reads in English, Polish, German and Hebrew, Hebrew right to left, switching
without a reload, and a key a language lacks falls back to English, never to the key."""

from __future__ import annotations

import pytest

from tests.console.catalogues import (
    PLACEHOLDER,
    Catalogue,
    console_uses,
    is_plural,
    languages,
    read_catalogue,
)

LATER_SECTIONS = ["card links & call back", "many ringing & small screens", "team page"]


@pytest.fixture(scope="module")
def catalogues() -> dict[str, Catalogue]:
    return {tag: read_catalogue(tag) for tag in languages()}


def test_the_console_speaks_english_polish_german_and_hebrew(catalogues: dict[str, Catalogue]) -> None:
    assert list(catalogues)[:4] == ["en", "pl", "de", "he"]
    assert catalogues["he"].meta["dir"] == "rtl"
    assert {c.meta["dir"] for tag, c in catalogues.items() if tag != "he"} == {"ltr"}


def test_every_key_the_console_uses_is_in_english(catalogues: dict[str, Catalogue]) -> None:
    en = catalogues["en"]
    uses = console_uses()
    assert len(uses.keys) > 150  # the reader found the calls (a broken regex finds none)
    missing = {
        key: where
        for key, where in uses.keys.items()
        if key not in en.messages and not (key in en.groups and is_plural(en.groups[key]))
    }
    assert not missing, f"keys used but not in en.js: {missing}"
    no_prefix = [p for p in uses.prefixes if not any(k.startswith(f"{p}.") for k in en.messages)]
    assert not no_prefix, f"label() prefixes with no key in en.js: {no_prefix}"
    # A key built at run time (t(`reason.${code}`)) is one no test can check: write the key out,
    # or use label(prefix, code) for a server's codes.
    assert not uses.templated, uses.templated


def test_english_has_no_key_nobody_uses(catalogues: dict[str, Catalogue]) -> None:
    uses = console_uses()
    unused = [
        key
        for key in catalogues["en"].messages
        if key not in uses.keys
        and key.rsplit(".", 1)[0] not in uses.keys  # a plural form or a group read by its name
        and not any(key.startswith(f"{prefix}.") for prefix in uses.prefixes)
    ]
    assert not unused, f"en.js keys no script or page uses: {unused}"


@pytest.mark.parametrize("tag", ["pl", "de", "he"])
def test_each_language_has_every_english_key_with_its_placeholders(
    catalogues: dict[str, Catalogue], tag: str
) -> None:
    en, other = catalogues["en"], catalogues[tag]
    categories = set(other.plurals)
    expected: set[str] = set()
    for key in en.messages:
        base = key.rpartition(".")[0]
        if base in en.groups and is_plural(en.groups[base]):
            # The language's own plural forms stand in for English's one/other.
            expected |= {f"{base}.{c}" for c in categories}
        else:
            expected.add(key)
    assert sorted(expected - set(other.messages)) == [], f"{tag}.js lacks these keys"
    assert sorted(set(other.messages) - expected) == [], f"{tag}.js has keys English does not"
    for key, text in other.messages.items():
        base = key.rpartition(".")[0]
        plural = base in en.groups and is_plural(en.groups[base])
        english = en.messages[f"{base}.other" if plural else key]
        theirs, ours = set(PLACEHOLDER.findall(text)), set(PLACEHOLDER.findall(english))
        # "one" may say the number in words ("שיחה אחת") and leave {count} out; nothing else may go.
        allowed_gone = {"count"} if plural else set()
        assert theirs <= ours, f"{tag}.js {key}: unknown placeholders {theirs - ours}"
        assert ours - theirs <= allowed_gone, f"{tag}.js {key}: lost placeholders {ours - theirs}"


def test_every_catalogue_keeps_the_sections_later_changes_fill_in(catalogues: dict[str, Catalogue]) -> None:
    for tag, catalogue in catalogues.items():
        assert catalogue.sections[-3:] == LATER_SECTIONS, tag
        assert catalogue.sections == catalogues["en"].sections, f"{tag}.js sections differ from en.js"
