"""Shopify webhooks (`POST /webhooks/shopify`): the platform's headers and secret, and the route.

The payloads are mapped in mapping.py and return_mapping.py, the topics handled in handlers.py;
the delivery takes the shared path of app/platforms/pipeline.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.deps import Sessions, Stores
from app.platforms.answers import WEBHOOK_RESPONSES, WebhookAnswer, webhook_openapi
from app.platforms.pipeline import Platform, receive
from app.platforms.shopify.handlers import TOPICS, delivery_key, log

__all__ = ["SHOPIFY", "router"]

router = APIRouter(tags=["store platforms"])

SHOPIFY = Platform(
    name="shopify",
    title="Shopify",
    setting="shopify_webhook_secret",
    signature_header="X-Shopify-Hmac-Sha256",
    topic_header="X-Shopify-Topic",
    topics=TOPICS,
    delivery_key=delivery_key,
    log=log,
    source_header="X-Shopify-Shop-Domain",
    store_of=lambda stores, domain: stores.of_shopify_shop(domain),
    secret_of=lambda store: store.shopify_secret,
)


@router.post(
    "/webhooks/shopify",
    response_model=WebhookAnswer,
    summary="Shopify: a webhook delivery (orders, refunds, customers, returns, privacy topics)",
    openapi_extra=webhook_openapi(
        "A Shopify webhook payload; X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body "
        "with RINGCARD_SHOPIFY_WEBHOOK_SECRET, X-Shopify-Topic names the topic.",
        signature="shopifyHmac",
        headers={
            "X-Shopify-Topic": "the topic, e.g. orders/updated (required)",
            "X-Shopify-Event-Id": "the same across duplicate deliveries: de-duplicates, per topic",
            "X-Shopify-Webhook-Id": "read when X-Shopify-Event-Id is absent",
            "X-Shopify-Triggered-At": "when Shopify raised the event",
        },
    ),
    responses=WEBHOOK_RESPONSES,
)
async def shopify_webhook(request: Request, sessions: Sessions, stores: Stores) -> WebhookAnswer:
    """Orders, refunds, customers (including the mandatory privacy topics) and returns, for the
    store whose shop X-Shopify-Shop-Domain names (else the default store)."""
    return await receive(request, sessions, stores, SHOPIFY)
