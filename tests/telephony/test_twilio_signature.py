from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from twilio.request_validator import RequestValidator

from app.telephony.twilio.signature import public_request_url, twilio_signature_valid

# Official vectors (twilio-python tests/unit/test_request_validator.py, see PROTOCOLS.md).
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
URL_443 = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
SIGNATURE_443 = "kvajT1Ptam85bY51eRf/AJRuM3w="
JSON_BODY = b'{"property": "value", "boolean": true}'
JSON_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
JSON_URL = f"{URL}&bodySHA256={JSON_BODY_HASH}"
JSON_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="


def _manual_signature(token: str, payload: str) -> str:
    """Independent HMAC-SHA1 of an explicit payload string, for cases the SDK cannot express."""
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# --- official vectors ---------------------------------------------------------------------


def test_official_vector() -> None:
    assert twilio_signature_valid(TOKEN, URL, PARAMS, SIGNATURE)


def test_official_vector_signed_with_port_validates_without_port() -> None:
    assert twilio_signature_valid(TOKEN, URL, PARAMS, SIGNATURE_443)


def test_official_vector_signed_with_port_validates_with_port() -> None:
    assert twilio_signature_valid(TOKEN, URL_443, PARAMS, SIGNATURE_443)


def test_port_less_signature_validates_on_url_with_port() -> None:
    assert twilio_signature_valid(TOKEN, URL_443, PARAMS, SIGNATURE)


def test_official_json_vector() -> None:
    assert hashlib.sha256(JSON_BODY).hexdigest() == JSON_BODY_HASH
    assert twilio_signature_valid(TOKEN, JSON_URL, None, JSON_SIGNATURE, body=JSON_BODY)


def test_json_signature_ignores_form_params() -> None:
    assert twilio_signature_valid(TOKEN, JSON_URL, PARAMS, JSON_SIGNATURE, body=JSON_BODY)


# --- the real SDK as the signer ------------------------------------------------------------


def test_request_signed_by_sdk_passes() -> None:
    token = "f3c1ab2d9e0f4a5b6c7d8e9f0a1b2c3d"
    url = "https://ringcard.example.com/webhooks/twilio/voice"
    params = {
        "CallSid": "CA0123456789abcdef0123456789abcdef",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+48601234567",
        "To": "+48221234567",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "CallerName": 'Łukasz & Søn <"ltd">',
    }
    signature = RequestValidator(token).compute_signature(url, params)
    assert twilio_signature_valid(token, url, params, signature)
    assert RequestValidator(token).validate(url, params, signature)


def test_sdk_json_request_passes() -> None:
    token = "another-token"
    body = json.dumps({"CallSid": "CA1", "Status": "completed"}).encode()
    url = f"https://ringcard.example.com/webhooks/twilio/status?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = RequestValidator(token).compute_signature(url, {})
    assert twilio_signature_valid(token, url, None, signature, body=body)


def test_sdk_get_request_with_query_only_passes() -> None:
    url = "https://ringcard.example.com/webhooks/twilio/voice?CallSid=CA1&From=%2B48601234567"
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    assert twilio_signature_valid(TOKEN, url, None, signature)
    assert twilio_signature_valid(TOKEN, url, {}, signature)


def test_http_default_port_variants() -> None:
    with_port = "http://pbx.example:80/webhooks/twilio/voice"
    without_port = "http://pbx.example/webhooks/twilio/voice"
    signed_with_port = RequestValidator(TOKEN).compute_signature(with_port, PARAMS)
    signed_without_port = RequestValidator(TOKEN).compute_signature(without_port, PARAMS)
    for url in (with_port, without_port):
        assert twilio_signature_valid(TOKEN, url, PARAMS, signed_with_port)
        assert twilio_signature_valid(TOKEN, url, PARAMS, signed_without_port)


def test_wrong_default_port_for_scheme_is_not_added() -> None:
    # :443 is not the default for http, so it must not be assumed.
    signed_443 = _manual_signature(TOKEN, "http://pbx.example:443/x")
    assert not twilio_signature_valid(TOKEN, "http://pbx.example/x", None, signed_443)


def test_non_default_port_is_part_of_the_url() -> None:
    url = "https://ringcard.example.com:8443/webhooks/twilio/voice"
    signature = RequestValidator(TOKEN).compute_signature(url, PARAMS)
    assert twilio_signature_valid(TOKEN, url, PARAMS, signature)
    # The SDK strips any port; a non-default port is still what Twilio requested, so a
    # signature over the port-less URL must not validate a request to :8443.
    portless = RequestValidator(TOKEN).compute_signature(
        "https://ringcard.example.com/webhooks/twilio/voice", PARAMS
    )
    assert not twilio_signature_valid(TOKEN, url, PARAMS, portless)


# --- rejections ----------------------------------------------------------------------------


def test_tampered_field_fails() -> None:
    assert not twilio_signature_valid(TOKEN, URL, {**PARAMS, "From": "+14158675300"}, SIGNATURE)


def test_added_field_fails() -> None:
    assert not twilio_signature_valid(TOKEN, URL, {**PARAMS, "CallerName": "Mallory"}, SIGNATURE)


def test_removed_field_fails() -> None:
    params = dict(PARAMS)
    del params["Digits"]
    assert not twilio_signature_valid(TOKEN, URL, params, SIGNATURE)


@pytest.mark.parametrize(
    "url",
    [
        "https://mycompany.com/myapp.php?foo=1&bar=3",
        "https://mycompany.com/myapp.php?bar=2&foo=1",  # re-sorted query
        "https://mycompany.com/myapp.php",
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        "https://evil.example/myapp.php?foo=1&bar=2",
        "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
    ],
)
def test_wrong_url_fails(url: str) -> None:
    assert not twilio_signature_valid(TOKEN, url, PARAMS, SIGNATURE)


def test_wrong_token_fails() -> None:
    assert not twilio_signature_valid("54321", URL, PARAMS, SIGNATURE)


def test_empty_token_fails() -> None:
    signature = _manual_signature("", URL)
    assert not twilio_signature_valid("", URL, None, signature)


@pytest.mark.parametrize("signature", [None, ""])
def test_missing_signature_fails(signature: str | None) -> None:
    assert not twilio_signature_valid(TOKEN, URL, PARAMS, signature)


def test_garbage_signature_fails_without_raising() -> None:
    assert not twilio_signature_valid(TOKEN, URL, PARAMS, "żółć not base64 ✓")


def test_tampered_json_body_fails() -> None:
    tampered = JSON_BODY.replace(b"value", b"evil!")
    assert not twilio_signature_valid(TOKEN, JSON_URL, None, JSON_SIGNATURE, body=tampered)


def test_json_body_hash_in_url_must_match_body() -> None:
    # A request whose URL carries the hash of another body is signed correctly but must fail.
    other = b'{"property": "other"}'
    url = f"{URL}&bodySHA256={hashlib.sha256(other).hexdigest()}"
    signature = _manual_signature(TOKEN, url)
    assert twilio_signature_valid(TOKEN, url, None, signature, body=other)
    assert not twilio_signature_valid(TOKEN, url, None, signature, body=JSON_BODY)


def test_json_body_without_hash_in_url_fails() -> None:
    signature = _manual_signature(TOKEN, URL)
    assert not twilio_signature_valid(TOKEN, URL, None, signature, body=JSON_BODY)


def test_duplicate_body_hash_parameter_fails() -> None:
    url = f"{JSON_URL}&bodySHA256={hashlib.sha256(b'x').hexdigest()}"
    signature = _manual_signature(TOKEN, url)
    assert not twilio_signature_valid(TOKEN, url, None, signature, body=JSON_BODY)


def test_json_url_checked_without_body_fails() -> None:
    # Validating a JSON request as if it had no body would accept any body.
    assert not twilio_signature_valid(TOKEN, JSON_URL, None, JSON_SIGNATURE)


def test_non_string_param_value_fails() -> None:
    params: dict[str, object] = {**PARAMS, "Digits": 1234}
    assert not twilio_signature_valid(TOKEN, URL, params, SIGNATURE)  # type: ignore[arg-type]


# --- parameter edge cases ------------------------------------------------------------------


class _MultiDict(dict[str, str]):
    """Like Starlette's FormData: ``[]`` gives the last value, ``getlist`` all of them."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        super().__init__(items)
        self._items = items

    def getlist(self, key: str) -> list[str]:
        return [value for name, value in self._items if name == key]


def test_repeated_parameter_names() -> None:
    url = "https://ringcard.example.com/webhooks/twilio/status"
    params = {"CallSid": "CA1", "StatusCallbackEvent": ["ringing", "answered", "completed"]}
    # Signed by hand: the SDK's plain-dict path would take the list as one value.
    signature = _manual_signature(
        TOKEN,
        url + "CallSidCA1StatusCallbackEventansweredStatusCallbackEventcompletedStatusCallbackEventringing",
    )
    assert twilio_signature_valid(TOKEN, url, params, signature)
    # Order of the values as sent does not matter, but every one of them does.
    reordered = {"CallSid": "CA1", "StatusCallbackEvent": ("completed", "ringing", "answered")}
    assert twilio_signature_valid(TOKEN, url, reordered, signature)
    missing_one = {"CallSid": "CA1", "StatusCallbackEvent": ["ringing", "answered"]}
    assert not twilio_signature_valid(TOKEN, url, missing_one, signature)


def test_repeated_parameter_names_via_getlist() -> None:
    url = "https://ringcard.example.com/webhooks/twilio/status"
    form = _MultiDict([("b", "2"), ("a", "z"), ("a", "y")])
    signature = _manual_signature(TOKEN, url + "ayazb2")
    assert twilio_signature_valid(TOKEN, url, form, signature)
    # Only the last value of "a", as plain ``form["a"]`` would give, is a different request.
    assert not twilio_signature_valid(TOKEN, url, dict(form), signature)


def test_repeated_identical_values_accepted_deduplicated_or_not() -> None:
    url = "https://ringcard.example.com/x"
    params = {"a": ["1", "1"]}
    assert twilio_signature_valid(TOKEN, url, params, _manual_signature(TOKEN, url + "a1"))
    assert twilio_signature_valid(TOKEN, url, params, _manual_signature(TOKEN, url + "a1a1"))
    assert not twilio_signature_valid(TOKEN, url, params, _manual_signature(TOKEN, url + "a1a1a1"))


def test_blank_values_count() -> None:
    params = {**PARAMS, "ForwardedFrom": "", "CallerName": ""}
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    assert signature != SIGNATURE  # the blank fields' names are part of the signed string
    assert twilio_signature_valid(TOKEN, URL, params, signature)
    assert not twilio_signature_valid(TOKEN, URL, PARAMS, signature)
    assert not twilio_signature_valid(TOKEN, URL, params, SIGNATURE)


def test_parameter_names_sort_case_sensitively() -> None:
    url = "https://ringcard.example.com/x"
    params = {"b": "1", "B": "2", "a": "3"}
    # Code point order: uppercase before lowercase.
    signature = _manual_signature(TOKEN, url + "B2a3b1")
    assert twilio_signature_valid(TOKEN, url, params, signature)
    assert signature == RequestValidator(TOKEN).compute_signature(url, params)


def test_query_with_encoded_characters_is_signed_as_sent() -> None:
    url = "https://ringcard.example.com/webhooks/twilio/voice?tenant=a%20b&x=%2B1&z=%C5%81"
    signature = RequestValidator(TOKEN).compute_signature(url, PARAMS)
    assert twilio_signature_valid(TOKEN, url, PARAMS, signature)
    decoded = "https://ringcard.example.com/webhooks/twilio/voice?tenant=a b&x=+1&z=Ł"
    assert not twilio_signature_valid(TOKEN, decoded, PARAMS, signature)


# --- public_request_url --------------------------------------------------------------------


def test_public_url_without_prefix() -> None:
    assert (
        public_request_url(
            "https://ringcard.example.com",
            "http://10.0.0.5:8000/webhooks/twilio/voice?a=1",
            "/webhooks/twilio/voice?a=1",
        )
        == "https://ringcard.example.com/webhooks/twilio/voice?a=1"
    )


def test_public_url_with_trailing_slash() -> None:
    assert (
        public_request_url("https://ringcard.example.com/", "http://internal/x", "/webhooks/twilio/voice")
        == "https://ringcard.example.com/webhooks/twilio/voice"
    )


@pytest.mark.parametrize("public_url", ["https://x.example/rc", "https://x.example/rc/"])
def test_public_url_with_prefix(public_url: str) -> None:
    assert (
        public_request_url(public_url, "http://127.0.0.1:8000/x", "/webhooks/twilio/voice")
        == "https://x.example/rc/webhooks/twilio/voice"
    )


def test_public_url_keeps_port() -> None:
    assert (
        public_request_url("https://x.example:8443", "http://internal/", "/webhooks/twilio/status")
        == "https://x.example:8443/webhooks/twilio/status"
    )


def test_public_url_preserves_raw_query_byte_for_byte() -> None:
    raw = "/webhooks/twilio/voice?tenant=a%20b&plus=%2B48&name=%C5%81ukasz&z=1&a=2&e=&sp=a+b"
    result = public_request_url("https://x.example/rc", "http://internal/ignored", raw)
    assert result == "https://x.example/rc" + raw


def test_public_url_ignores_query_and_fragment_of_configured_url() -> None:
    assert (
        public_request_url("https://x.example/rc?debug=1#frag", "http://internal/", "/p?q=1")
        == "https://x.example/rc/p?q=1"
    )


@pytest.mark.parametrize("public_url", [None, ""])
def test_without_public_url_the_request_url_is_used_as_is(public_url: str | None) -> None:
    request_url = "http://ringcard.example.com:8000/webhooks/twilio/voice?x=%2B1"
    assert public_request_url(public_url, request_url, "/ignored") == request_url


@pytest.mark.parametrize("public_url", ["ringcard.example.com", "https://", "/rc"])
def test_unusable_public_url_is_a_configuration_error(public_url: str) -> None:
    with pytest.raises(ValueError, match="public URL"):
        public_request_url(public_url, "http://internal/x", "/x")


def test_end_to_end_behind_proxy() -> None:
    # Twilio signed the public URL; the app sees an internal one.
    public = "https://x.example/rc/webhooks/twilio/voice?tenant=a%20b"
    signature = RequestValidator(TOKEN).compute_signature(public, PARAMS)
    internal = "http://127.0.0.1:8000/webhooks/twilio/voice?tenant=a%20b"
    assert not twilio_signature_valid(TOKEN, internal, PARAMS, signature)
    rebuilt = public_request_url("https://x.example/rc", internal, "/webhooks/twilio/voice?tenant=a%20b")
    assert twilio_signature_valid(TOKEN, rebuilt, PARAMS, signature)
