"""The stores one Ringcard serves (docs/stores.md): each with its own region, currency, time zone,
loyalty thresholds, admin links and lines. A field left empty (NULL) is the deployment's setting
(RINGCARD_*), so the `default` store every install has behaves exactly as before stores existed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

DEFAULT_STORE = "default"


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # in URLs and payloads
    name: Mapped[str] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(2))
    base_currency: Mapped[str | None] = mapped_column(String(3))
    timezone: Mapped[str | None] = mapped_column(String(64))
    colour: Mapped[str | None] = mapped_column(String(7))  # #rrggbb, on pops and in the log
    order_url_template: Mapped[str | None] = mapped_column(String(1000))
    customer_url_template: Mapped[str | None] = mapped_column(String(1000))
    case_url_template: Mapped[str | None] = mapped_column(String(1000))
    # The loyalty thresholds given (JSON, app/stores/records.py); the others are the settings'.
    loyalty_json: Mapped[str | None] = mapped_column(Text)
    # Where the store's platform webhooks come from, and the secret each is signed with: a
    # delivery is the store's whose shop (X-Shopify-Shop-Domain) or site (X-WC-Webhook-Source)
    # it names, and is verified with that store's secret (app/platforms/pipeline.py).
    shopify_shop: Mapped[str | None] = mapped_column(String(255), unique=True)  # its handle
    shopify_webhook_secret: Mapped[str | None] = mapped_column(String(255))
    woocommerce_url: Mapped[str | None] = mapped_column(String(1000), unique=True)
    woocommerce_webhook_secret: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoreLine(Base):
    """A line (its key, app/kit/lines.py) belongs to one store: the primary key makes two stores
    claiming it at once end with one owner."""

    __tablename__ = "store_lines"

    line: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), ForeignKey("stores.id", ondelete="CASCADE"), index=True)
