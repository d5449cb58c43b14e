"""Validation of Twilio's ``X-Twilio-Signature`` header, without any web framework.

Twilio signs the exact URL it requested plus, for form POSTs, every parameter name and value
sorted by name; for JSON bodies it puts ``bodySHA256=<hex>`` into the query and signs the URL
alone. Anything that rewrites the URL on the way to us (a proxy changing scheme or host, a
framework re-encoding the query) breaks the signature, which is why the URL is only ever sliced
here and never parsed and re-assembled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

__all__ = ["public_request_url", "twilio_signature_valid"]

_DEFAULT_PORTS = {"https": 443, "http": 80}

# Twilio adds this query parameter when the request carries a JSON body.
_BODY_HASH_PARAM = "bodySHA256"


def _split_url(url: str) -> tuple[str, str, str, str] | None:
    """Slice ``url`` into (lower-cased scheme, ``scheme://``, authority, rest) without re-encoding.

    ``rest`` is everything from the first ``/``, ``?`` or ``#`` after the authority, byte for byte.
    Returns None when the URL has no ``scheme://`` part.
    """
    sep = url.find("://")
    if sep <= 0:
        return None
    start = sep + 3
    end = len(url)
    for delimiter in "/?#":
        index = url.find(delimiter, start)
        if index != -1 and index < end:
            end = index
    return url[:sep].lower(), url[:start], url[start:end], url[end:]


def _split_port(hostport: str) -> tuple[str, str | None]:
    """Split ``host[:port]``; a colon inside an IPv6 literal (``[::1]``) is not a port separator."""
    colon = hostport.rfind(":")
    if colon > hostport.rfind("]"):
        return hostport[:colon], hostport[colon + 1 :]
    return hostport, None


def _url_variants(url: str) -> list[str]:
    """The URL as given, plus the same URL with the scheme's default port added or removed.

    Twilio's own back end is inconsistent about the default port, and its SDKs accept both forms;
    a non-default port is part of what Twilio requested and is never touched.
    """
    variants = [url]
    parts = _split_url(url)
    if parts is None:
        return variants
    scheme, head, authority, rest = parts
    default_port = _DEFAULT_PORTS.get(scheme)
    if default_port is None:
        return variants
    userinfo, at, hostport = authority.rpartition("@")
    host, port = _split_port(hostport)
    if port is None:
        variants.append(f"{head}{userinfo}{at}{host}:{default_port}{rest}")
    elif port == str(default_port):
        variants.append(f"{head}{userinfo}{at}{host}{rest}")
    return variants


def _values_of(params: Mapping[str, str | Sequence[str]], name: str) -> list[str] | None:
    """All values sent under ``name``; None when a value is not a string (not a Twilio form)."""
    # Framework multi-dicts (Starlette's FormData, Werkzeug's MultiDict, Django's QueryDict)
    # return only one value from ``[]``; their ``getlist`` keeps repeated names intact.
    getlist = getattr(params, "getlist", None)
    raw: object = getlist(name) if callable(getlist) else params[name]
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, Sequence):
        values = list(raw)
        if all(isinstance(value, str) for value in values):
            return values
    return None


def _param_suffixes(params: Mapping[str, str | Sequence[str]] | None) -> set[str] | None:
    """The strings to append to the URL for the form parameters (None: unusable parameters).

    For a repeated name with a repeated value the SDKs disagree on whether the duplicate is
    signed once (twilio-python deduplicates) or twice (a literal "each value, sorted"); both
    strings are offered, which costs nothing since each still needs the auth token to forge.
    """
    if not params:
        return {""}
    deduplicated: list[str] = []
    every_value: list[str] = []
    for name in sorted(set(params)):
        values = _values_of(params, name)
        if values is None:
            return None
        deduplicated.extend(name + value for value in sorted(set(values)))
        every_value.extend(name + value for value in sorted(values))
    return {"".join(deduplicated), "".join(every_value)}


def _query_values(url: str, name: str) -> list[str]:
    """Values of query parameter ``name`` in ``url`` (decoded, for reading only)."""
    query = url.partition("#")[0].partition("?")[2]
    return [value for key, value in parse_qsl(query, keep_blank_values=True) if key == name]


def _body_hash_matches(url: str, body: bytes) -> bool:
    expected = _query_values(url, _BODY_HASH_PARAM)
    # Two bodySHA256 values would let a request pick whichever one suits it.
    if len(expected) != 1:
        return False
    actual = hashlib.sha256(body).hexdigest()
    return hmac.compare_digest(expected[0].lower().encode("utf-8"), actual.encode("ascii"))


def _sign(auth_token: str, payload: str) -> bytes:
    mac = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest())


def twilio_signature_valid(
    auth_token: str,
    url: str,
    params: Mapping[str, str | Sequence[str]] | None,
    signature: str | None,
    body: bytes | None = None,
) -> bool:
    """True when ``signature`` (the ``X-Twilio-Signature`` header) signs this request.

    ``url`` is the full URL Twilio requested, query included and exactly as sent (see
    :func:`public_request_url`). For a form POST pass the form fields as ``params`` (a list of
    values for a repeated name, or a multi-dict with ``getlist``) and leave ``body`` as None; for a
    GET pass no params. For a JSON body pass the raw ``body``: ``params`` are then ignored, the
    signature covers the URL alone, and the body must hash to the URL's ``bodySHA256``.

    A URL carrying ``bodySHA256`` without a ``body`` is rejected: it came with a JSON body, and
    checking the URL alone would accept any body at all.
    """
    if not signature or not auth_token:
        return False
    if body is not None:
        if not _body_hash_matches(url, body):
            return False
        suffixes = {""}
    else:
        if _query_values(url, _BODY_HASH_PARAM):
            return False
        form_suffixes = _param_suffixes(params)
        if form_suffixes is None:
            return False
        suffixes = form_suffixes
    received = signature.encode("utf-8")
    return any(
        hmac.compare_digest(_sign(auth_token, candidate + suffix), received)
        for candidate in _url_variants(url)
        for suffix in suffixes
    )


def public_request_url(public_url: str | None, request_url: str, path_and_query: str) -> str:
    """The URL Twilio requested, rebuilt for signature checks behind a proxy.

    With a configured ``public_url`` (``https://ringcard.example.com`` or, when a proxy mounts the
    service under a prefix it strips, ``https://x.example/rc``) the result is that URL's scheme,
    host and path prefix followed by ``path_and_query``: the request's raw path and raw query as
    the application received them (relative to the prefix, e.g. ASGI ``raw_path`` + ``?`` +
    ``query_string``), byte for byte. Any query or fragment in ``public_url`` is ignored. Without
    a public URL, ``request_url`` is returned untouched.

    Raises ValueError when ``public_url`` is not an absolute URL: that is a configuration error
    and must not silently turn every webhook into a 401.
    """
    if not public_url:
        return request_url
    parts = _split_url(public_url.strip())
    if parts is None or not parts[2]:
        raise ValueError(f"public URL must look like https://host[/prefix], got {public_url!r}")
    _, head, authority, rest = parts
    prefix = rest.partition("#")[0].partition("?")[0].rstrip("/")
    if not path_and_query.startswith("/"):
        path_and_query = "/" + path_and_query
    return f"{head}{authority}{prefix}{path_and_query}"
