"""WooCommerce webhooks (`POST /webhooks/woocommerce`): the platform's headers and secret, and
the route.

The payloads are mapped in mapping.py, the topics handled in handlers.py; the delivery takes the
shared path of app/platforms/pipeline.py. Only a bad signature (401) or a body we cannot read
(422) fails. The activation ping (`webhook_id=N`, form-encoded, unsigned: Woo sends it before the
secret is in use) is answered 200 and stores nothing, so it needs no signature.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.deps import Sessions, Stores
from app.platforms.answers import WEBHOOK_RESPONSES, WebhookAnswer, webhook_openapi
from app.platforms.pipeline import Platform, receive
from app.platforms.woocommerce.handlers import TOPICS, delivery_key, log
from app.platforms.woocommerce.mapping import ping_webhook_id

__all__ = ["WOOCOMMERCE", "router"]

router = APIRouter(tags=["store platforms"])


def _ping(body: bytes) -> str | None:
    webhook_id = ping_webhook_id(body)
    return None if webhook_id is None else f"webhook {webhook_id} may deliver here"


WOOCOMMERCE = Platform(
    name="woocommerce",
    title="WooCommerce",
    setting="woocommerce_webhook_secret",
    signature_header="X-WC-Webhook-Signature",
    topic_header="X-WC-Webhook-Topic",
    topics=TOPICS,
    delivery_key=delivery_key,
    log=log,
    source_header="X-WC-Webhook-Source",
    store_of=lambda stores, site: stores.of_woocommerce_site(site),
    secret_of=lambda store: store.woocommerce_secret,
    ping=_ping,
)


@router.post(
    "/webhooks/woocommerce",
    response_model=WebhookAnswer,
    summary="WooCommerce: a webhook delivery (orders, refunds, customers; the activation ping)",
    openapi_extra=webhook_openapi(
        "A WooCommerce webhook payload (X-WC-Webhook-Topic order.* or customer.*); "
        "X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw body with "
        "RINGCARD_WOOCOMMERCE_WEBHOOK_SECRET. The activation ping `webhook_id=N` is form-encoded "
        "and answers 200 unsigned.",
        signature="woocommerceSignature",
        headers={"X-WC-Webhook-Topic": "the topic, e.g. order.updated (required)"},
    ),
    responses=WEBHOOK_RESPONSES,
)
async def woocommerce_webhook(request: Request, sessions: Sessions, stores: Stores) -> WebhookAnswer:
    """Orders (refunds included) and customers, created/updated/deleted/restored, for the store
    whose site X-WC-Webhook-Source names (else the default store)."""
    return await receive(request, sessions, stores, WOOCOMMERCE)
