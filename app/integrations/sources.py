"""The integrations that send us requests: their names, what switches each on, how a wrong or
missing credential reads to the operator, and which one a request belongs to by its path.

One table (SOURCES) serves the delivery notes (deliveries.py), the status page (status.py) and
`ringcard doctor` (app/ops/doctor.py), so a new integration is one row here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BY_NAME", "SOURCES", "Source", "shown_path", "source_of"]


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    kind: str  # telephony | platform | sync
    label: str
    setting: str  # the Settings field that switches it on
    # What a wrong credential is, in the operator's terms (the default detail of a 401).
    wrong: str
    # The header that carries its signature or key, to tell a missing one from a wrong one.
    credential_header: str | None = None

    @property
    def missing(self) -> str:
        if self.name == "pbx":
            return "no token (?token= or a Bearer token)"
        if self.credential_header is None:
            return "no credential"
        shown = "Authorization" if self.credential_header == "authorization" else self.credential_header
        return f"no {shown} header"


SOURCES: tuple[Source, ...] = (
    Source(
        "twilio",
        "telephony",
        "Twilio",
        "twilio_auth_token",
        "X-Twilio-Signature does not match RINGCARD_TWILIO_AUTH_TOKEN",
        "x-twilio-signature",
    ),
    Source(
        "telnyx",
        "telephony",
        "Telnyx",
        "telnyx_public_key",
        "the signature does not verify with RINGCARD_TELNYX_PUBLIC_KEY",
        "telnyx-signature-ed25519",
    ),
    Source(
        "cti",
        "telephony",
        "Generic CTI (PBX)",
        "cti_token",
        "the token in the webhook URL (/webhooks/cti/<token>) is not RINGCARD_CTI_TOKEN",
    ),
    Source(
        "3cx", "telephony", "3CX", "cti_token", "the Bearer token is not RINGCARD_CTI_TOKEN", "authorization"
    ),
    Source(
        "pbx",
        "telephony",
        "PBX lookup and events",
        "cti_token",
        "the token (?token= or a Bearer token) is not RINGCARD_CTI_TOKEN",
    ),
    Source(
        "shopify",
        "platform",
        "Shopify",
        "shopify_webhook_secret",
        "X-Shopify-Hmac-Sha256 is not this body's HMAC with RINGCARD_SHOPIFY_WEBHOOK_SECRET "
        "(the app's client secret, or the webhook's signing secret)",
        "x-shopify-hmac-sha256",
    ),
    Source(
        "woocommerce",
        "platform",
        "WooCommerce",
        "woocommerce_webhook_secret",
        "X-WC-Webhook-Signature is not this body's HMAC with RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET "
        "(the webhook's Secret field in WooCommerce)",
        "x-wc-webhook-signature",
    ),
    Source(
        "store_sync",
        "sync",
        "Store sync API",
        "sync_api_key",
        "the Bearer key is not RINGCARD_SYNC_API_KEY",
        "authorization",
    ),
)
BY_NAME = {source.name: source for source in SOURCES}

_SYNC_PREFIXES = ("/api/v1/customers/", "/api/v1/orders/", "/api/v1/cases/")
_SYNC_TEMPLATES = {
    "/api/v1/customers/": "/api/v1/customers/{external_id}",
    "/api/v1/orders/": "/api/v1/orders/{external_id}",
    "/api/v1/cases/": "/api/v1/cases/{external_id}",
}
_WRITES = frozenset({"PUT", "POST", "DELETE", "PATCH"})


def source_of(method: str, path: str) -> str | None:
    """The integration a request belongs to, by its path alone (so a refusal before routing, a
    413 or an unknown path under a webhook prefix, still counts); None for everything else."""
    if path.startswith("/webhooks/"):
        rest = path[len("/webhooks/") :]
        if rest == "twilio" or rest.startswith("twilio/"):
            return "twilio"
        if rest.startswith("cti/"):
            return "cti"
        return rest if rest in ("telnyx", "shopify", "woocommerce") else None
    if path.startswith("/pbx/"):
        return "pbx"
    if path.startswith("/integrations/3cx/"):
        return "3cx"
    if method in _WRITES and (path == "/api/v1/import" or path.startswith(_SYNC_PREFIXES)):
        return "store_sync"
    return None


def shown_path(source: str, path: str) -> str:
    """The path as the status may show it: the CTI token in the path and the sync API's record
    ids never (a template instead)."""
    if source == "cti":
        return "/webhooks/cti/{token}"
    if source == "store_sync":
        for prefix, template in _SYNC_TEMPLATES.items():
            if path.startswith(prefix):
                return template
    return path[:80]
