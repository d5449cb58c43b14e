"""Import every module that declares tables, so Base.metadata is complete (Alembic, tests)."""

from __future__ import annotations


def import_all_models() -> None:
    import app.agents.models
    import app.calls.models
    import app.integrations.models
    import app.platforms.models
    import app.store.models
    import app.stores.models
    import app.summaries.models  # noqa: F401
