"""The agent console: a static page (HTML, JS modules, CSS) served by the app itself."""

from __future__ import annotations

from app.console.routes import router

__all__ = ["router"]
