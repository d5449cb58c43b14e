"""Webhook payloads as Shopify (Admin API 2025-01) and WooCommerce (REST v3) document them, the
real signatures, and read-backs of what Ringcard stored.

The shapes follow the platforms' published examples field for field where it matters (ids as JSON
numbers, money as decimal strings, Shopify times with the shop's offset, Woo `*_gmt` times without
one, Woo refunds with negative totals), with the noise fields kept so the mapping is exercised
against what really arrives, not a trimmed-down idea of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Select

from app.db import create_engine

SHOPIFY_SECRET = "shopify-app-secret-for-tests-0123456789"
WOO_SECRET = "woocommerce-webhook-secret-for-tests-0123"
SHOP = "ringcard-test.myshopify.com"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# Shopify writes times in the shop's own zone.
WARSAW = timezone(timedelta(hours=1))

CUSTOMER_ID = 706405506930370084
ORDER_ID = 820982911946154508


def shopify_time(dt: datetime) -> str:
    return dt.astimezone(WARSAW).isoformat()


def woo_gmt(dt: datetime) -> str:
    """Woo's *_gmt fields: UTC, no offset, whole seconds."""
    return dt.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _money_set(
    amount: str, currency: str = "PLN", shown: str | None = None, shown_currency: str | None = None
) -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": shown or amount, "currency_code": shown_currency or currency},
    }


# --- Shopify -------------------------------------------------------------------------------------


def shopify_address(phone: str | None, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Anna",
        "address1": "ul. Długa 12",
        "phone": phone,
        "city": "Kraków",
        "zip": "31-147",
        "province": None,
        "country": "Poland",
        "last_name": "Nowak",
        "address2": "m. 4",
        "company": None,
        "latitude": 50.0677,
        "longitude": 19.9386,
        "name": "Anna Nowak",
        "country_code": "PL",
        "province_code": None,
    }
    body.update(over)
    return body


def shopify_customer(
    customer_id: int = CUSTOMER_ID,
    updated: datetime = T0,
    phone: str | None = "+48601234567",
    address_phone: str | None = "512 000 111",
    **over: Any,
) -> dict[str, Any]:
    """A customers/create|update payload of API 2025-01: no orders_count, no total_spent."""
    default_address = {
        "id": 207119551,
        "customer_id": customer_id,
        **shopify_address(address_phone),
        "country_name": "Poland",
        "default": True,
    }
    body: dict[str, Any] = {
        "id": customer_id,
        "email": "anna.nowak@example.pl",
        "created_at": shopify_time(T0 - timedelta(days=400)),
        "updated_at": shopify_time(updated),
        "first_name": "Anna",
        "last_name": "Nowak",
        "state": "enabled",
        "note": "Prefers calls after 5pm",
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": phone,
        "email_marketing_consent": {
            "state": "subscribed",
            "opt_in_level": "confirmed_opt_in",
            "consent_updated_at": shopify_time(T0 - timedelta(days=400)),
        },
        "sms_marketing_consent": None,
        "tags": "VIP, newsletter",
        "currency": "PLN",
        "tax_exemptions": [],
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "default_address": default_address,
        "addresses": [default_address],
    }
    body.update(over)
    return body


def shopify_fulfillment(
    fulfillment_id: int = 255858046,
    shipment_status: str | None = "in_transit",
    created: datetime = T0 - timedelta(days=3),
    status: str = "success",
    order_id: int = ORDER_ID,
) -> dict[str, Any]:
    return {
        "id": fulfillment_id,
        "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
        "created_at": shopify_time(created),
        "location_id": 655441491,
        "name": "#1042.1",
        "order_id": order_id,
        "origin_address": {},
        "receipt": {},
        "service": "manual",
        "shipment_status": shipment_status,
        "status": status,
        "tracking_company": "InPost",
        "tracking_number": "6800123456789012345678",
        "tracking_numbers": ["6800123456789012345678"],
        "tracking_url": "https://inpost.pl/sledzenie-przesylek?number=6800123456789012345678",
        "tracking_urls": ["https://inpost.pl/sledzenie-przesylek?number=6800123456789012345678"],
        "updated_at": shopify_time(created + timedelta(days=1)),
        "line_items": [],
    }


def shopify_refund(
    refund_id: int = 509562969,
    order_id: int = ORDER_ID,
    amount: str = "30.00",
    created: datetime = T0 + timedelta(hours=2),
    currency: str = "PLN",
    status: str = "success",
) -> dict[str, Any]:
    """A refund as refunds/create sends it and as it appears in an order's `refunds` list."""
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": shopify_time(created),
        "note": "Damaged in transit",
        "user_id": 548380009,
        "processed_at": shopify_time(created),
        "restock": False,
        "duties": [],
        "total_duties_set": _money_set("0.00", currency),
        "return": None,
        "additional_fees": [],
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "refund_line_items": [
            {
                "id": 104689539,
                "quantity": 1,
                "line_item_id": 703073504,
                "location_id": 487838322,
                "restock_type": "no_restock",
                "subtotal": amount,
                "total_tax": "0.00",
                "subtotal_set": _money_set(amount, currency),
                "total_tax_set": _money_set("0.00", currency),
            }
        ],
        "transactions": [
            {
                "id": 179259969,
                "order_id": order_id,
                "kind": "refund",
                "gateway": "shopify_payments",
                "status": status,
                "message": "Transaction approved",
                "created_at": shopify_time(created),
                "test": False,
                "authorization": "authorization-key",
                "location_id": None,
                "user_id": None,
                "parent_id": 801038806,
                "processed_at": shopify_time(created),
                "device_id": None,
                "error_code": None,
                "source_name": "web",
                "receipt": {},
                "amount": amount,
                "currency": currency,
                "payment_id": "c901414060.1",
                "total_unsettled_set": _money_set("0.00", currency),
                "manual_payment_gateway": False,
                "admin_graphql_api_id": "gid://shopify/OrderTransaction/179259969",
            }
        ],
        "order_adjustments": [],
        "refund_shipping_lines": [],
    }


def shopify_order(
    order_id: int = ORDER_ID,
    name: str = "#1042",
    total: str = "249.00",
    updated: datetime = T0,
    financial_status: str | None = "paid",
    fulfillment_status: str | None = None,
    fulfillments: list[dict[str, Any]] | None = None,
    refunds: list[dict[str, Any]] | None = None,
    customer: dict[str, Any] | None = None,
    billing_phone: str | None = "0048 600-700-800",
    shipping_phone: str | None = "48 790 123 456",
    cancelled_at: datetime | None = None,
    currency: str = "PLN",
    placed: datetime = T0 - timedelta(days=5),
    **over: Any,
) -> dict[str, Any]:
    """A full order as orders/create|updated|paid|fulfilled|cancelled send it. `customer` is the
    embedded customer (by default the one from shopify_customer, as Shopify embeds it; `{}` for
    an order without a customer)."""
    embedded = shopify_customer() if customer is None else customer
    body: dict[str, Any] = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "app_id": 580111,
        "browser_ip": "203.0.113.7",
        "buyer_accepts_marketing": True,
        "cancel_reason": "customer" if cancelled_at else None,
        "cancelled_at": shopify_time(cancelled_at) if cancelled_at else None,
        "cart_token": None,
        "checkout_id": 901414060,
        "checkout_token": "bd5a8aa1ecd019dd3520ff791ee3a24c",
        "closed_at": None,
        "confirmation_number": "SMT5BVWKZ",
        "confirmed": True,
        "contact_email": "anna.nowak@example.pl",
        "created_at": shopify_time(placed),
        "currency": currency,
        "current_subtotal_price": total,
        "current_total_price": total,
        "current_total_price_set": _money_set(total, currency),
        "customer_locale": "pl-PL",
        "discount_codes": [],
        "email": "anna.nowak@example.pl",
        "estimated_taxes": False,
        "financial_status": financial_status,
        "fulfillment_status": fulfillment_status,
        "landing_site": None,
        "name": name,
        "note": None,
        "note_attributes": [],
        "number": 42,
        "order_number": 1042,
        "order_status_url": f"https://{SHOP}/690933842/orders/123456abcd/authenticate?key=abcdefg",
        "payment_gateway_names": ["shopify_payments"],
        "phone": None,
        "presentment_currency": currency,
        "processed_at": shopify_time(placed),
        "source_name": "web",
        "subtotal_price": total,
        "subtotal_price_set": _money_set(total, currency),
        "tags": "",
        "taxes_included": True,
        "test": False,
        "token": "123456abcd",
        "total_discounts": "0.00",
        "total_line_items_price": total,
        "total_price": total,
        "total_price_set": _money_set(total, currency),
        "total_tax": "46.56",
        "total_weight": 1200,
        "updated_at": shopify_time(updated),
        "user_id": None,
        "billing_address": shopify_address(billing_phone),
        "customer": embedded or None,
        "discount_applications": [],
        "fulfillments": fulfillments or [],
        "line_items": [
            {
                "id": 703073504,
                "admin_graphql_api_id": "gid://shopify/LineItem/703073504",
                "fulfillable_quantity": 2,
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "gift_card": False,
                "grams": 600,
                "name": "Ceramic mug - forest green",
                "price": "124.50",
                "price_set": _money_set("124.50", currency),
                "product_exists": True,
                "product_id": 632910392,
                "properties": [],
                "quantity": 2,
                "requires_shipping": True,
                "sku": "MUG-GRN",
                "taxable": True,
                "title": "Ceramic mug",
                "total_discount": "0.00",
                "variant_id": 808950810,
                "variant_title": "forest green",
                "vendor": "Ringcard Demo",
                "tax_lines": [],
                "duties": [],
                "discount_allocations": [],
            }
        ],
        "payment_terms": None,
        "refunds": refunds or [],
        "shipping_address": shopify_address(shipping_phone, address1="ul. Krótka 3"),
        "shipping_lines": [
            {
                "id": 369256396,
                "code": "InPost Paczkomat",
                "price": "0.00",
                "source": "shopify",
                "title": "InPost Paczkomat",
                "tax_lines": [],
                "discount_allocations": [],
            }
        ],
    }
    body.update(over)
    return body


def shopify_return(
    return_id: int = 945000954,
    order_id: int = ORDER_ID,
    status: str = "requested",
    exchange: bool = False,
    **over: Any,
) -> dict[str, Any]:
    """A returns/* payload (request, approve, decline, cancel, close, reopen): no timestamps."""
    body: dict[str, Any] = {
        "id": return_id,
        "admin_graphql_api_id": f"gid://shopify/Return/{return_id}",
        "status": status,
        "order": {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}"},
        "total_return_line_items": 1,
        "name": "#1042-R1",
        "return_line_items": [
            {
                "id": 677614678,
                "admin_graphql_api_id": "gid://shopify/ReturnLineItem/677614678",
                "fulfillment_line_item": {
                    "id": 541415467,
                    "admin_graphql_api_id": "gid://shopify/FulfillmentLineItem/541415467",
                    "line_item": {
                        "id": 703073504,
                        "admin_graphql_api_id": "gid://shopify/LineItem/703073504",
                    },
                },
                "quantity": 1,
                "return_reason": "size_too_small" if exchange else "defective",
                "return_reason_note": "",
                "customer_note": "The handle came off, call me on +48 601 234 567",
            }
        ],
        "exchange_line_items": (
            [
                {
                    "id": 86545701,
                    "admin_graphql_api_id": "gid://shopify/ExchangeLineItem/86545701",
                    "line_item": {
                        "id": 703073600,
                        "admin_graphql_api_id": "gid://shopify/LineItem/703073600",
                    },
                }
            ]
            if exchange
            else []
        ),
        "total_exchange_line_items": 1 if exchange else 0,
        "return_shipping_fees": [],
    }
    body.update(over)
    return body


def shopify_redact(customer_id: int = CUSTOMER_ID, orders: list[int] | None = None) -> dict[str, Any]:
    return {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "customer": {"id": customer_id, "email": "anna.nowak@example.pl", "phone": "+48601234567"},
        "orders_to_redact": orders if orders is not None else [ORDER_ID],
    }


def shopify_data_request(customer_id: int = CUSTOMER_ID) -> dict[str, Any]:
    return {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "orders_requested": [ORDER_ID],
        "customer": {"id": customer_id, "email": "anna.nowak@example.pl", "phone": "+48601234567"},
        "data_request": {"id": 9999},
    }


def shopify_shop_redact() -> dict[str, Any]:
    return {"shop_id": 954889, "shop_domain": SHOP}


def shopify_sign(body: bytes, secret: str = SHOPIFY_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_request(
    topic: str,
    payload: dict[str, Any],
    event_id: str | None = None,
    triggered: datetime | None = None,
    secret: str = SHOPIFY_SECRET,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery, signed the way Shopify signs it."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_sign(body, secret),
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": f"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043-{topic}",
        # By default the same topic and body are the same event, as in a redelivery.
        "X-Shopify-Event-Id": event_id or hashlib.sha256(topic.encode() + body).hexdigest()[:32],
        # Shopify's own format: nanoseconds and Z.
        "X-Shopify-Triggered-At": (triggered or T0).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f123Z"),
    }
    return body, headers


# --- WooCommerce ---------------------------------------------------------------------------------


def woo_address(phone: str | None, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Jan",
        "last_name": "Kowalski",
        "company": "",
        "address_1": "ul. Polna 5",
        "address_2": "",
        "city": "Gdańsk",
        "state": "PM",
        "postcode": "80-001",
        "country": "PL",
        "phone": phone or "",
    }
    body.update(over)
    return body


def woo_customer(customer_id: int = 25, modified: datetime | None = T0, **over: Any) -> dict[str, Any]:
    """A customer.* payload (REST v3 customer)."""
    created = T0 - timedelta(days=200)
    body: dict[str, Any] = {
        "id": customer_id,
        "date_created": woo_gmt(created + timedelta(hours=1)),
        "date_created_gmt": woo_gmt(created),
        "date_modified": woo_gmt(modified + timedelta(hours=1)) if modified else None,
        "date_modified_gmt": woo_gmt(modified) if modified else None,
        "email": "jan.kowalski@example.pl",
        "first_name": "Jan",
        "last_name": "Kowalski",
        "role": "customer",
        "username": "jan.kowalski",
        "billing": {**woo_address("+48 601 111 222"), "email": "jan.kowalski@example.pl"},
        "shipping": woo_address("502 333 444"),
        "is_paying_customer": True,
        "avatar_url": "https://secure.gravatar.com/avatar/8eb1b522f60d11fa897de1dc6351b7e8?s=96",
        "meta_data": [],
        "_links": {
            "self": [{"href": "https://shop.example.pl/wp-json/wc/v3/customers/25"}],
            "collection": [{"href": "https://shop.example.pl/wp-json/wc/v3/customers"}],
        },
    }
    body.update(over)
    return body


def woo_order(
    order_id: int = 727,
    status: str = "processing",
    total: str = "129.00",
    customer_id: int = 25,
    modified: datetime = T0,
    refunds: list[dict[str, Any]] | None = None,
    billing_phone: str = "+48 601 111 222",
    shipping_phone: str = "",
    completed: datetime | None = None,
    currency: str = "PLN",
    **over: Any,
) -> dict[str, Any]:
    """An order.* payload (REST v3 order). `refunds` as Woo lists them: negative totals."""
    created = T0 - timedelta(days=4)
    body: dict[str, Any] = {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": "wc_order_58d2d042d1d",
        "created_via": "checkout",
        "version": "9.4.2",
        "status": status,
        "currency": currency,
        "date_created": woo_gmt(created + timedelta(hours=1)),
        "date_created_gmt": woo_gmt(created),
        "date_modified": woo_gmt(modified + timedelta(hours=1)),
        "date_modified_gmt": woo_gmt(modified),
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "14.00",
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": total,
        "total_tax": "0.00",
        "prices_include_tax": True,
        "customer_id": customer_id,
        "customer_ip_address": "203.0.113.9",
        "customer_user_agent": "Mozilla/5.0",
        "customer_note": "",
        "billing": {**woo_address(billing_phone), "email": "jan.kowalski@example.pl"},
        "shipping": woo_address(shipping_phone, first_name="Ewa"),
        "payment_method": "bacs",
        "payment_method_title": "Direct bank transfer",
        "transaction_id": "",
        "date_paid": woo_gmt(created + timedelta(hours=2)),
        "date_paid_gmt": woo_gmt(created + timedelta(hours=1)),
        "date_completed": woo_gmt(completed + timedelta(hours=1)) if completed else None,
        "date_completed_gmt": woo_gmt(completed) if completed else None,
        "cart_hash": "",
        "meta_data": [],
        "line_items": [
            {
                "id": 315,
                "name": "Wool blanket",
                "product_id": 93,
                "variation_id": 0,
                "quantity": 1,
                "tax_class": "",
                "subtotal": "115.00",
                "subtotal_tax": "0.00",
                "total": "115.00",
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
                "sku": "BLK-WOOL",
                "price": 115,
            }
        ],
        "tax_lines": [],
        "shipping_lines": [
            {
                "id": 317,
                "method_title": "Kurier",
                "method_id": "flat_rate",
                "total": "14.00",
                "total_tax": "0.00",
                "taxes": [],
            }
        ],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": refunds or [],
        "set_paid": False,
        "_links": {
            "self": [{"href": f"https://shop.example.pl/wp-json/wc/v3/orders/{order_id}"}],
            "collection": [{"href": "https://shop.example.pl/wp-json/wc/v3/orders"}],
        },
    }
    body.update(over)
    return body


def woo_refund(refund_id: int, amount: str) -> dict[str, Any]:
    """An entry of an order's `refunds` list: Woo writes the total negative."""
    return {"id": refund_id, "reason": "Damaged", "total": f"-{amount}"}


def woo_sign(body: bytes, secret: str = WOO_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def woo_request(
    topic: str, payload: dict[str, Any], secret: str = WOO_SECRET
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": "https://shop.example.pl/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": woo_sign(body, secret),
        "X-WC-Webhook-ID": "12",
        # Woo makes a new one for every attempt, retries included.
        "X-WC-Webhook-Delivery-ID": hashlib.md5(body + topic.encode(), usedforsecurity=False).hexdigest(),
    }
    return body, headers


# --- reading back --------------------------------------------------------------------------------


async def rows(database_url: str, statement: Select[Any]) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(statement)).all()]
    finally:
        await engine.dispose()


async def count(database_url: str, model: Any) -> int:
    result = await rows(database_url, select(func.count()).select_from(model))
    return int(result[0][0])
