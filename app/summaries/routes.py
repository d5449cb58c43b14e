"""A call with what it left: its transcript and AI summary for agents, the approval that makes
the summary the call's note, and the transcript intake any PBX can use."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.identity import call_id_for
from app.calls.models import Call
from app.calls.views import call_json
from app.card.views import iso
from app.db import utcnow
from app.deps import CardRulesDep, CurrentAgent, SessionDep, SettingsDep, state_of
from app.summaries import drafts
from app.summaries.jobs import JobKind, JobStatus, enqueue
from app.summaries.models import AiJob, CallSummary
from app.summaries.prompt import LANGUAGES
from app.summaries.recordings import take_recording
from app.summaries.stt import check_recording_url
from app.summaries.transcripts import (
    TEXT_MAX,
    Segment,
    TranscriptSource,
    replace_transcript,
    transcript_of,
)
from app.web.auth import bearer_token, secret_matches
from app.web.openapi import secured_by

router = APIRouter(prefix="/api/v1/calls", tags=["call log"])

SEGMENTS_MAX = 5000
LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
Language = Annotated[str, StringConstraints(strip_whitespace=True, pattern=LANGUAGE_TAG)]


async def resolve_call(session: AsyncSession, given: str) -> Call:
    """The call named by our id or by `provider:provider_call_id` (a PBX knows only its own)."""
    call = await session.get(Call, given[:32]) if len(given) <= 32 else None
    if call is None and ":" in given:
        provider, provider_call_id = given.split(":", 1)
        call = await session.get(Call, call_id_for(provider.lower(), provider_call_id))
    if call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {given[:80]!r}")
    return call


async def detail_of(
    session: AsyncSession, call: Call, view: Mapping[str, Any], *, summaries_on: bool
) -> dict[str, Any]:
    """The call with its transcript and summary. A summary waiting for a model that is not
    configured (`summaries_on` false) is not shown as being written."""
    transcript = await transcript_of(session, call.id)
    summary = await session.get(CallSummary, call.id, populate_existing=True)
    summary_json: dict[str, Any] | None = None
    if summary is not None:
        summary_json = {
            "status": summary.status,
            "text": summary.text,
            "reason_code": summary.reason_code,
            "disposition": summary.disposition,
            "sentiment": summary.sentiment,
            "action_items": json.loads(summary.action_items_json) if summary.action_items_json else [],
            "language": summary.language,
            "error": summary.error,
            "ai": True,
            "model": summary.model,
            "approved_by": summary.approved_by,
            "updated_at": iso(summary.updated_at),
        }
    elif summaries_on and await session.scalar(
        select(AiJob.id).where(
            AiJob.call_id == call.id,
            AiJob.kind == JobKind.SUMMARISE.value,
            AiJob.status.in_((JobStatus.PENDING.value, JobStatus.RUNNING.value)),
        )
    ):
        summary_json = {
            "status": drafts.SummaryStatus.PENDING.value,
            "text": None,
            "reason_code": None,
            "disposition": None,
            "sentiment": None,
            "action_items": [],
            "language": None,
            "error": None,
            "ai": True,
            "model": None,
            "approved_by": None,
            "updated_at": None,
        }
    return {
        **view,
        # Whether this service writes summaries (RINGCARD_LLM_BASE_URL): a console waits for one
        # only then.
        "ai_summaries": summaries_on,
        "summary_status": summary_json["status"] if summary_json else None,
        "transcript": None
        if transcript is None
        else {
            "source": transcript.source,
            "language": transcript.language,
            "text": transcript.text,
            "segments": [
                {"speaker": s.speaker, "text": s.text, "start_s": s.start_s} for s in transcript.segments
            ],
            "updated_at": iso(transcript.updated_at),
        },
        "summary": summary_json,
    }


@router.get("/{call_id}")
async def get_call(
    call_id: str, session: SessionDep, settings: SettingsDep, rules: CardRulesDep, _agent: CurrentAgent
) -> dict[str, Any]:
    """One call, with its transcript (redacted) and its AI summary."""
    call = await resolve_call(session, call_id)
    return await detail_of(
        session,
        call,
        call_json(call, settings.default_region, links=rules.links),
        summaries_on=bool(settings.llm_base_url),
    )


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(max_length=drafts.NOTE_MAX)] | None = None


@router.post("/{call_id}/summary/approve")
async def approve_summary(
    call_id: str,
    session: SessionDep,
    settings: SettingsDep,
    rules: CardRulesDep,
    agent: CurrentAgent,
    body: ApproveIn | None = None,
) -> dict[str, Any]:
    """Use the AI's draft (or the agent's edit of it) as the call's note: the next pop of this
    caller shows it. An agent's own note stays; the summary goes after it."""
    call = await resolve_call(session, call_id)
    try:
        await drafts.approve(
            session, call.id, agent.display_name, text=body.text if body else None, now=utcnow()
        )
    except drafts.NoDraft:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "this call has no AI draft waiting for approval"
        ) from None
    await session.flush()
    return await detail_of(
        session,
        call,
        call_json(call, settings.default_region, links=rules.links),
        summaries_on=bool(settings.llm_base_url),
    )


class RetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language | None = None


@router.post("/{call_id}/summary/retry", status_code=status.HTTP_202_ACCEPTED)
async def retry_summary(
    call_id: str,
    request: Request,
    tasks: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    rules: CardRulesDep,
    _agent: CurrentAgent,
    body: RetryIn | None = None,
) -> dict[str, Any]:
    """Ask for the draft again (after a failure, or in another language)."""
    if not settings.llm_base_url:
        raise HTTPException(status.HTTP_409_CONFLICT, "AI summaries are off: set RINGCARD_LLM_BASE_URL")
    call = await resolve_call(session, call_id)
    summary = await session.get(CallSummary, call.id)
    if summary is not None and summary.status == drafts.SummaryStatus.APPROVED.value:
        raise HTTPException(status.HTTP_409_CONFLICT, "this call's summary was approved already")
    if await transcript_of(session, call.id) is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "this call has no transcript to summarise")
    language = body.language.lower() if body and body.language else None
    if language is not None and language.split("-")[0] not in LANGUAGES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, f"summaries are written in {', '.join(sorted(LANGUAGES))}"
        )
    await enqueue(session, JobKind.SUMMARISE, call.id, language=language)
    await drafts.mark_pending(session, call.id, language or settings.summary_language)
    wake_after_commit(request, tasks, JobKind.SUMMARISE)
    await session.flush()
    return await detail_of(
        session,
        call,
        call_json(call, settings.default_region, links=rules.links),
        summaries_on=bool(settings.llm_base_url),
    )


# --- the transcript any PBX can send -----------------------------------------------------------


async def pbx_or_store(request: Request, settings: SettingsDep) -> None:
    """The store backend (sync key) or a PBX (the CTI token), as `Authorization: Bearer …`."""
    if not settings.sync_api_key and not settings.cti_token:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "transcript intake is switched off: set RINGCARD_SYNC_API_KEY or RINGCARD_CTI_TOKEN",
        )
    token = bearer_token(request)
    if token and (secret_matches(settings.sync_api_key, token) or secret_matches(settings.cti_token, token)):
        return
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "a valid sync API key or CTI token is required (Authorization: Bearer <RINGCARD_SYNC_API_KEY "
        "or RINGCARD_CTI_TOKEN>)",
        headers={"WWW-Authenticate": "Bearer"},
    )


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: Literal["customer", "agent"] | None = None
    text: Annotated[str, StringConstraints(max_length=TEXT_MAX)]
    start_s: float | None = Field(default=None, ge=0, le=7 * 24 * 3600)


class TranscriptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(max_length=TEXT_MAX)] | None = None
    segments: list[SegmentIn] | None = Field(default=None, max_length=SEGMENTS_MAX)
    recording_url: Annotated[str, StringConstraints(max_length=4096)] | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _one_of(self) -> TranscriptIn:
        given = [name for name in ("text", "segments", "recording_url") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError('give exactly one of "text", "segments" or "recording_url"')
        if self.recording_url is not None:
            check_recording_url(self.recording_url)
        return self


@router.post(
    "/{call_id}/transcript",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(pbx_or_store)],
    openapi_extra=secured_by("syncKey", "ctiToken"),
)
async def post_transcript(
    call_id: str, body: TranscriptIn, request: Request, tasks: BackgroundTasks, session: SessionDep
) -> dict[str, Any]:
    """A call's transcript from any PBX or recorder: the whole text, or its segments with who
    spoke, or a recording to transcribe (RINGCARD_STT_BASE_URL). `call_id` is Ringcard's or
    `provider:provider_call_id`. Card numbers, security codes and IBANs are redacted before
    anything is stored; the AI summary follows. Sending it again replaces it."""
    call = await resolve_call(session, call_id)
    language = body.language.lower() if body.language else None
    if body.recording_url is not None:
        await take_recording(session, call.id, body.recording_url, auth=None)
        wake_after_commit(request, tasks, JobKind.TRANSCRIBE)
        return {"call_id": call.id, "recording": "accepted", "parts": 0}
    if body.segments is not None:
        segments = [Segment(s.text, s.speaker, s.start_s) for s in body.segments]
    else:
        segments = [Segment(body.text or "")]
    stored = await replace_transcript(session, call.id, TranscriptSource.API, segments, language=language)
    if stored:
        wake_after_commit(request, tasks, JobKind.SUMMARISE)
    return {"call_id": call.id, "recording": None, "parts": stored}


def wake_after_commit(request: Request, tasks: BackgroundTasks, kind: JobKind) -> None:
    """Tell this instance's worker once the request's transaction has committed: background
    tasks run after the session dependency has committed, so the worker finds the job at once
    (other instances find it at their next poll)."""
    worker = getattr(state_of(request), "summaries", None)
    if worker is not None:
        tasks.add_task(worker.wake, kind)
