"""The tables the store platforms declare: the deliveries (and counted facts) already processed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

__all__ = ["PlatformDelivery"]


class PlatformDelivery(Base):
    """One delivery (or one fact, such as a refund already counted) a platform sent us."""

    __tablename__ = "platform_deliveries"

    platform: Mapped[str] = mapped_column(String(32))
    delivery_key: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (PrimaryKeyConstraint("platform", "delivery_key"),)
