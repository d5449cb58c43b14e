"""The application factory: the lifespan owns every I/O object; nothing connects at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from starlette.types import Scope

from app.agents.access import AgentAccess
from app.agents.admin_routes import router as agents_admin_router
from app.agents.presence import PresenceWriter
from app.agents.routes import router as agents_router
from app.agents.sign_in_limits import sign_in_limits
from app.agents.team_routes import router as team_router
from app.agents.tokens import load_or_create_signing_key
from app.calls.call_metrics import CallMetrics
from app.calls.directory import AgentDirectory
from app.calls.intake import CallIntake
from app.calls.routes import router as calls_router
from app.calls.snapshots import CallLogSnapshots
from app.calls.timeouts import QuietCallSweeper
from app.card.routes import router as lookup_router
from app.card.store_rules import StoreCardRules
from app.console import router as console_router
from app.db import CARD_LOOKUP_SETTINGS, create_engine, make_sessionmaker
from app.db.storable import StorableTextMiddleware
from app.demo.routes import router as demo_router
from app.deps import AppState
from app.insights.routes import router as insights_router
from app.integrations.deliveries import DeliveryMiddleware
from app.integrations.recorder import IntegrationRecorder
from app.integrations.routes import router as integrations_router
from app.platforms.routes import platform_router
from app.push import create_push
from app.push.socket_routes import router as push_router
from app.settings import Settings, get_settings
from app.store.routes import IMPORT_PATH
from app.store.routes import router as sync_router
from app.stores.directory import StoreDirectory
from app.stores.routes import router as stores_router
from app.summaries.routes import router as summaries_router
from app.summaries.worker import SummaryWorker
from app.telephony.cti_routes import router as cti_router
from app.telephony.pbx.event_routes import router as pbx_event_router
from app.telephony.pbx.lookup_routes import router as pbx_lookup_router
from app.telephony.pbx.threecx_routes import router as threecx_router
from app.telephony.telnyx.routes import router as telnyx_router
from app.telephony.twilio.routes import router as twilio_router
from app.telephony.twilio.transcription_routes import router as twilio_transcription_router
from app.web.body_limits import BodyLimitMiddleware
from app.web.docs_routes import router as api_docs_router
from app.web.errors import install_error_handlers
from app.web.health_routes import router as health_router
from app.web.openapi import DESCRIPTION, install_openapi

log = logging.getLogger("ringcard")


def _integration_recorder(scope: Scope) -> IntegrationRecorder | None:
    """The recorder of the app serving `scope` (None before its lifespan started)."""
    recorder: IntegrationRecorder | None = getattr(scope["app"].state, "integrations", None)
    return recorder


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = AppState(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        sessionmaker = make_sessionmaker(engine)
        state.engine = engine
        state.sessionmaker = sessionmaker
        if settings.secret_key:
            state.token_key = settings.secret_key
        else:
            async with sessionmaker() as session, session.begin():
                state.token_key = await load_or_create_signing_key(session)
        # Every store in memory: a pop reads its line's store without a round trip.
        state.stores = StoreDirectory(sessionmaker, settings)
        await state.stores.load()
        state.store_rules = StoreCardRules(settings, state.stores, state.card_rules)
        state.sign_in_limits = sign_in_limits(settings)
        state.agent_access = AgentAccess(engine)
        push = create_push(settings, token_versions=state.agent_access)
        push.snapshots = CallLogSnapshots(
            sessionmaker,
            settings.default_region,
            push.live_calls,
            links=state.card_rules.links,
            ring_timeout_s=settings.ring_timeout_s,
            call_timeout_s=settings.call_timeout_s,
        )
        state.push = push
        state.broker = push.broker
        # Call events commit without waiting for the WAL flush: atomic and visible at once, so
        # "publish after commit" holds, but a database crash may lose the last fraction of a
        # second of call events (providers redeliver; see docs/architecture.md). Waiting for the
        # disk cost milliseconds of every pop. Store data keeps full durability.
        call_engine = create_engine(
            settings.database_url, pool_size=5, server_settings={"synchronous_commit": "off"}
        )
        # A pop's card statements run through connections that plan each of them once (see
        # CARD_LOOKUP_SETTINGS): their custom plans cost more to make than to run.
        card_engine = create_engine(
            settings.database_url, pool_size=5, server_settings=CARD_LOOKUP_SETTINGS, autocommit=True
        )
        state.intake = CallIntake(
            sessionmaker,
            push,
            state.card_rules,
            settings.default_region,
            writer=make_sessionmaker(call_engine),
            reader=make_sessionmaker(card_engine),
            buffer_limit=settings.call_event_buffer,
            stores=state.store_rules,
            # The KPIs as Prometheus metrics per line (docs/metrics-calls.md).
            metrics=CallMetrics(
                service_level_s=settings.service_level_s, short_abandon_s=settings.short_abandon_s
            ),
        )
        # What each integration sent and what became of it (GET /api/v1/status), written in the
        # background once a second.
        state.integrations = IntegrationRecorder(sessionmaker)
        stores = state.stores
        state.directory = AgentDirectory(
            sessionmaker, online_ids=push.online_agent_ids, store_of_line=lambda line: stores.of_line(line).id
        )
        await state.directory.load()
        push.agent_listeners.append(state.directory.refresh_soon)
        # What startup built lives as long as the process: keep it out of every future garbage
        # collection, whose full passes otherwise show up as pauses in the pop latency tail.
        if settings.gc_freeze:
            gc.collect()
            gc.freeze()
        sweeper = QuietCallSweeper(
            sessionmaker,
            state.intake,
            ring_timeout_s=settings.ring_timeout_s,
            call_timeout_s=settings.call_timeout_s,
        )
        # Who is online on this instance, for the team page served by any (app/agents/presence.py).
        presence = PresenceWriter(sessionmaker, push.instance_id, push.online_agent_ids)
        # Transcriptions and summaries, off the request path (app/summaries/worker.py).
        state.summaries = SummaryWorker(sessionmaker, settings, instance_id=push.instance_id)
        try:
            await push.start()
            await presence.start()
            sweeper.start()
            state.integrations.start()
            await state.summaries.start()
            yield
        finally:
            await state.summaries.stop()
            await sweeper.stop()
            # Calls being recorded finish first, then sockets get their close frame, then the
            # engine goes.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await state.intake.drain()
            await state.intake.stop(grace_s=5)
            # After the intake: calls recorded behind their answer settle their deliveries.
            await state.integrations.stop(grace_s=5)
            await presence.stop()
            await push.stop()
            await state.stores.stop()
            await state.agent_access.aclose()
            await call_engine.dispose()
            await card_engine.dispose()
            await engine.dispose()
            await state.sign_in_limits.aclose()
            if settings.gc_freeze:
                gc.unfreeze()

    app = FastAPI(
        title="Ringcard",
        version="0.1.0",
        summary="Caller identification and screen pops for online stores",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        # FastAPI's pages load their scripts from a CDN: app/web/docs_routes.py serves Swagger UI itself.
        docs_url=None,
        redoc_url=None,
    )
    # Typed (app/deps.py), and in place before the app starts: tests pin its clock there.
    app.state = state
    install_error_handlers(app)
    app.add_middleware(StorableTextMiddleware)
    # Added last, so outermost: nothing reads a body the limit has not seen.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, streamed_paths=[IMPORT_PATH])
    # Outside even the body limit, so its 413s count as rejected deliveries too.
    app.add_middleware(DeliveryMiddleware, noter=_integration_recorder)
    app.include_router(health_router)
    app.include_router(api_docs_router)
    app.include_router(console_router)
    app.include_router(agents_router)
    app.include_router(agents_admin_router)
    app.include_router(team_router)
    app.include_router(sync_router)
    app.include_router(push_router)
    app.include_router(platform_router())
    app.include_router(lookup_router)
    app.include_router(calls_router)
    app.include_router(summaries_router)
    app.include_router(insights_router)
    app.include_router(stores_router)
    app.include_router(twilio_router)
    app.include_router(twilio_transcription_router)
    for telephony in (telnyx_router, cti_router, pbx_lookup_router, pbx_event_router, threecx_router):
        app.include_router(telephony)
    app.include_router(demo_router)
    app.include_router(integrations_router)
    install_openapi(app)
    return app
