"""Reading the console's language catalogues (app/console/static/js/locales/<tag>.js) and the keys
its scripts and page use, without a JavaScript engine: the catalogues keep to a line format simple
enough to read exactly (en.js's header describes it), and anything else in them is an error here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from app.console.routes import STATIC_DIR

JS_DIR = STATIC_DIR / "js"
LOCALES_DIR = JS_DIR / "locales"
PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})

_STRING = r'"((?:[^"\\]|\\.)*)"'
_ENTRY = re.compile(rf'^\s*"([a-z0-9_.]+)":\s*(?:{_STRING}|\{{(.*)\}}),\s*$')
_SUB = re.compile(rf"\s*([A-Za-z0-9_]+):\s*{_STRING}\s*(?:,|$)")
_META = re.compile(r"^export const meta = (\{.*\});$", re.M)
_SECTION = re.compile(r"^\s*// --- (.+) ---$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class CatalogueFormatError(AssertionError):
    pass


@dataclass(frozen=True)
class Catalogue:
    tag: str
    meta: dict[str, object]
    messages: dict[str, str]  # flat keys, as t() sees them
    groups: dict[str, dict[str, str]]  # "log.count" -> {"one": …, "other": …}
    sections: list[str]  # the section comments, in order

    @property
    def plurals(self) -> list[str]:
        value = self.meta.get("plurals")
        assert isinstance(value, list), f"{self.tag}.js: meta.plurals is missing"
        return [str(v) for v in value]


def _text(raw: str) -> str:
    decoded: str = json.loads(f'"{raw}"')
    return decoded


def _meta(tag: str, source: str) -> dict[str, object]:
    found = _META.search(source)
    if not found:
        raise CatalogueFormatError(f"{tag}.js: no `export const meta = {{…}};` line")
    # The meta line is a JS object literal with bare keys: quote them to read it as JSON.
    as_json = re.sub(r"(\{|,)\s*([A-Za-z_]\w*):", r'\1 "\2":', found.group(1))
    value: dict[str, object] = json.loads(as_json)
    return value


def read_catalogue(tag: str) -> Catalogue:
    path = LOCALES_DIR / f"{tag}.js"
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    try:
        start = lines.index("export default {")
        end = lines.index("};", start)
    except ValueError:
        raise CatalogueFormatError(f"{tag}.js: needs `export default {{` … `}};` lines") from None
    messages: dict[str, str] = {}
    groups: dict[str, dict[str, str]] = {}
    sections: list[str] = []
    for number, line in enumerate(lines[start + 1 : end], start=start + 2):
        if not line.strip():
            continue
        if section := _SECTION.match(line):
            sections.append(section.group(1))
            continue
        if line.strip().startswith("//"):
            continue
        entry = _ENTRY.match(line)
        if not entry:
            raise CatalogueFormatError(f'{tag}.js:{number}: not a `"key": "text",` line: {line.strip()!r}')
        key, text, inner = entry.groups()
        if key in messages or key in groups:
            raise CatalogueFormatError(f"{tag}.js:{number}: {key} twice")
        if inner is None:
            messages[key] = _text(text)
            continue
        group: dict[str, str] = {}
        at = 0
        inner = inner.strip()
        while at < len(inner):
            sub = _SUB.match(inner, at)
            if not sub:
                raise CatalogueFormatError(f"{tag}.js:{number}: cannot read {inner[at:]!r} in {key}")
            group[sub.group(1)] = _text(sub.group(2))
            at = sub.end()
        groups[key] = group
        for name, value in group.items():
            messages[f"{key}.{name}"] = value
    return Catalogue(tag, _meta(tag, source), messages, groups, sections)


def languages() -> list[str]:
    """The tags of js/locales/index.js, in order."""
    source = (LOCALES_DIR / "index.js").read_text(encoding="utf-8")
    body = source.split("LANGUAGES = [", 1)[1].split("]", 1)[0]
    return re.findall(r'"([a-z]{2,3})"', body)


def is_plural(group: dict[str, str]) -> bool:
    return "other" in group and set(group) <= PLURAL_CATEGORIES


# --- the keys the console uses --------------------------------------------------------------------

_T_CALL = re.compile(r'\b(?:t|tParts|key)\(\s*"([^"]+)"')
_SET_TEXT = re.compile(r'\bsetText\(\s*[^,()]+,\s*"([^"]+)"')
_LABEL = re.compile(r'\blabel\(\s*"([^"]+)"')
_TEMPLATE_KEY = re.compile(r"\b(?:(?:t|tParts|key)\(\s*|setText\([^,()]+,\s*)`")
_HTML_KEY = re.compile(r'data-i18n(?:-label|-placeholder|-title)?="([^"]+)"')


@dataclass(frozen=True)
class Uses:
    keys: dict[str, list[str]]  # key -> where ("js/card.js")
    prefixes: dict[str, list[str]]  # label("order.status", …) -> where
    templated: list[str]  # t(`…`) calls: keys no test can check


def console_uses() -> Uses:
    keys: dict[str, list[str]] = {}
    prefixes: dict[str, list[str]] = {}
    templated: list[str] = []
    for path in sorted(JS_DIR.rglob("*.js")):
        if LOCALES_DIR in path.parents:
            continue
        where = path.relative_to(STATIC_DIR).as_posix()
        # Comments (examples in i18n.js's header) are not uses.
        source = "\n".join(
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.lstrip().startswith(("//", "*", "/*"))
        )
        for key in _T_CALL.findall(source) + _SET_TEXT.findall(source):
            keys.setdefault(key, []).append(where)
        for prefix in _LABEL.findall(source):
            prefixes.setdefault(prefix, []).append(where)
        if path.name != "i18n.js":
            templated += [f"{where}: {m.group(0)}" for m in _TEMPLATE_KEY.finditer(source)]
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    for key in _HTML_KEY.findall(page):
        keys.setdefault(key, []).append("index.html")
    return Uses(keys, prefixes, templated)
