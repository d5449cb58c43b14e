"""Every store platform's webhook routes, for the app to include in one go."""

from __future__ import annotations

from fastapi import APIRouter

from app.platforms.shopify import routes as shopify
from app.platforms.woocommerce import routes as woocommerce

__all__ = ["platform_router"]


def platform_router() -> APIRouter:
    router = APIRouter()
    router.include_router(shopify.router)
    router.include_router(woocommerce.router)
    return router
