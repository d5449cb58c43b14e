"""Links out of the card (docs/store-platforms.md#links-to-the-stores-admin): a customer's and an
order's page in the store's admin, a case's helpdesk page, and the click-to-call link of a caller.

Everything here is compiled once from the settings (`Links.from_settings`, held by CardRules) and
filled in by string joins: the pop makes no extra query (origin and url come with the rows the card
reads anyway) and no template is parsed per call.

Admin URL formats, as the platforms build them:
* Shopify: `https://admin.shopify.com/store/<handle>` is a shop's admin (Shopify's own
  @shopify/shopify-api, lib/utils/shop-admin-url-helper.ts, `legacyUrlToShopAdminUrl`: the shop
  `my-shop.myshopify.com` ↔ `admin.shopify.com/store/my-shop`); a record's page is that root plus
  its resource path, `/orders/<id>` and `/customers/<id>` (the paths `buildAdminURL` in Shopify's
  code is called with, e.g. `/customers/2`), with the numeric REST id our external ids are.
* WooCommerce: `Automattic\\WooCommerce\\Internal\\Admin\\Orders\\PageController::get_edit_url`
  (woocommerce/woocommerce, plugins/woocommerce/src/Internal/Admin/Orders/PageController.php)
  gives `admin.php?page=wc-orders&action=edit&id=<id>` when orders are in the HPOS tables, else
  `post.php?post=<id>&action=edit`, both under the site's `/wp-admin/`; a customer is a WordPress
  user, edited at `/wp-admin/user-edit.php?user_id=<id>` (WordPress's get_edit_user_link()).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from app.kit.phones import NormalisedNumber, NumberKind
from app.kit.url_templates import WEB_SCHEMES, UrlTemplate
from app.settings import (
    CALLBACK_PLACEHOLDERS,
    CALLBACK_SCHEMES,
    ORDER_PLACEHOLDERS,
    RECORD_PLACEHOLDERS,
    Settings,
    WooCommerceOrdersUi,
)
from app.store.schemas import RecordOrigin
from app.stores.schemas import StoreView

SHOPIFY_ADMIN = "https://admin.shopify.com/store/"


def _template(value: str | None, placeholders: frozenset[str]) -> UrlTemplate | None:
    if value is None:
        return None
    return UrlTemplate.compile(value, placeholders=placeholders, schemes=WEB_SCHEMES)


def _segment(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class Links:
    shopify_admin: str | None  # https://admin.shopify.com/store/acme
    woo_admin: str | None  # https://shop.example/wp-admin
    woo_posts: bool  # the legacy order screens (post.php) rather than HPOS's
    order_template: UrlTemplate | None
    customer_template: UrlTemplate | None
    case_template: UrlTemplate | None
    callback: UrlTemplate

    @classmethod
    def for_store(cls, settings: Settings, store: StoreView) -> Links:
        """A store's links: its own shop, site and templates (each empty one the settings')."""
        return cls._compiled(settings, store)

    @classmethod
    def from_settings(cls, settings: Settings) -> Links:
        return cls._compiled(settings, settings)

    @classmethod
    def _compiled(cls, settings: Settings, source: Settings | StoreView) -> Links:
        """The links of `source`'s shop, site and templates; the call-back and the Woo order
        screens are the deployment's."""
        return cls(
            shopify_admin=SHOPIFY_ADMIN + source.shopify_shop if source.shopify_shop else None,
            woo_admin=source.woocommerce_url + "/wp-admin" if source.woocommerce_url else None,
            woo_posts=settings.woocommerce_orders_ui is WooCommerceOrdersUi.POSTS,
            order_template=_template(source.order_url_template, ORDER_PLACEHOLDERS),
            customer_template=_template(source.customer_url_template, RECORD_PLACEHOLDERS),
            case_template=_template(source.case_url_template, RECORD_PLACEHOLDERS),
            callback=UrlTemplate.compile(
                settings.callback_url_template, placeholders=CALLBACK_PLACEHOLDERS, schemes=CALLBACK_SCHEMES
            ),
        )

    def customer(self, origin: str | None, external_id: str | None) -> str | None:
        """The customer's page in the admin of the platform that wrote them; for the sync API's
        records, RINGCARD_CUSTOMER_URL_TEMPLATE's. None for a guest, or with nothing configured."""
        if external_id is None:
            return None
        if origin == RecordOrigin.SHOPIFY:
            return f"{self.shopify_admin}/customers/{_segment(external_id)}" if self.shopify_admin else None
        if origin == RecordOrigin.WOOCOMMERCE:
            if self.woo_admin is None:
                return None
            return f"{self.woo_admin}/user-edit.php?user_id={_segment(external_id)}"
        if self.customer_template is None:
            return None
        return self.customer_template.fill({"external_id": external_id})

    def order(self, origin: str | None, external_id: str, number: str) -> str | None:
        if origin == RecordOrigin.SHOPIFY:
            return f"{self.shopify_admin}/orders/{_segment(external_id)}" if self.shopify_admin else None
        if origin == RecordOrigin.WOOCOMMERCE:
            if self.woo_admin is None:
                return None
            if self.woo_posts:
                return f"{self.woo_admin}/post.php?post={_segment(external_id)}&action=edit"
            return f"{self.woo_admin}/admin.php?page=wc-orders&action=edit&id={_segment(external_id)}"
        if self.order_template is None:
            return None
        return self.order_template.fill({"external_id": external_id, "number": number})

    def case(self, url: str | None, external_id: str) -> str | None:
        """The helpdesk page the store sent with the case, else RINGCARD_CASE_URL_TEMPLATE's."""
        if url is not None:
            return url
        return self.case_template.fill({"external_id": external_id}) if self.case_template else None

    def call_back(self, number: NormalisedNumber) -> str | None:
        """The click-to-call link of a caller; None for one nobody can call back (withheld, not a
        phone number, a number that does not parse)."""
        if number.kind is not NumberKind.E164 or number.e164 is None:
            return None
        digits = number.e164[1:]
        return self.callback.fill(
            {"e164": number.e164, "digits": digits, "national": number.national or digits}
        )
