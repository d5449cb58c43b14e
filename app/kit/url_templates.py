"""Link templates an operator writes in a setting (`https://shop.example/admin/orders/{external_id}`,
`sip:{e164}@pbx.example`): checked once when the settings are read, compiled once, and filled in
with plain string joins on the pop path.

Every value is percent-encoded as it is put in, so an id with a slash, a space or a `?` stays one
path segment or one query value and cannot change where the link goes.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

WEB_SCHEMES = frozenset({"http", "https"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class TemplateError(ValueError):
    """A template that cannot be used; its message says why, without repeating the template."""


@dataclass(frozen=True, slots=True)
class UrlTemplate:
    """A compiled template: literal text and placeholders, in order."""

    source: str
    scheme: str
    parts: tuple[tuple[str, str | None], ...]  # (literal text, the placeholder after it or None)
    safe: str  # characters a value keeps as they are (`+` of a number in tel: and sip: links)

    @classmethod
    def compile(cls, template: str, *, placeholders: frozenset[str], schemes: frozenset[str]) -> UrlTemplate:
        """Raise TemplateError unless `template` is a link of one of `schemes` using only
        `placeholders` (at least one of them)."""
        if not template or any(c.isspace() for c in template):
            raise TemplateError("must be a link with no spaces (percent-encode them as %20)")
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError:
            raise TemplateError("has an unmatched { or }; write a literal brace as {{ or }}") from None
        known = ", ".join(f"{{{p}}}" for p in sorted(placeholders))
        parts: list[tuple[str, str | None]] = []
        for literal, name, spec, conversion in parsed:
            if name is not None:
                if name not in placeholders:
                    raise TemplateError(f"has an unknown placeholder {{{name}}}; use {known}")
                if spec or conversion:
                    raise TemplateError(f"placeholder {{{name}}} takes no format; write it as {{{name}}}")
            parts.append((literal, name))
        if all(name is None for _, name in parts):
            raise TemplateError(f"uses no placeholder, so every link would be the same; use {known}")
        lead = parts[0][0]  # the text before the first placeholder
        match = _SCHEME.match(lead)
        scheme = match.group(1).lower() if match else ""
        allowed = " or ".join(f"{s}:" for s in sorted(schemes))
        if scheme not in schemes:
            raise TemplateError(f"must start with {allowed} (the scheme written out, not a placeholder)")
        if scheme in WEB_SCHEMES and not urlsplit(lead).hostname:
            raise TemplateError(f"must name its host before any placeholder ({scheme}://host/…)")
        # In a web link `+` in a query means a space, so it is encoded there; tel:, sip: and
        # callto: links keep an E.164 number's `+`.
        return cls(template, scheme, tuple(parts), "" if scheme in WEB_SCHEMES else "+")

    def fill(self, values: Mapping[str, str]) -> str:
        safe = self.safe
        return "".join(
            literal if name is None else literal + quote(values[name], safe=safe)
            for literal, name in self.parts
        )


def check_template(value: str | None, *, placeholders: frozenset[str], schemes: frozenset[str]) -> str | None:
    """A settings validator's check: the value as given (None stays None), or TemplateError."""
    if value is None or not value.strip():
        return None
    UrlTemplate.compile(value.strip(), placeholders=placeholders, schemes=schemes)
    return value.strip()
