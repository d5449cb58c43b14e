"""Runs the transcription and summary jobs off the request path, on every instance: each lane
claims due jobs from the database (one instance per job), bounded by RINGCARD_AI_CONCURRENCY,
with timeouts on every model call. No database session is held while a model thinks, and a
slow or dead model only delays summaries: pops and webhook answers never wait on this."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import httpx
import orjson
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import Call
from app.db import utcnow
from app.settings import Settings
from app.summaries import drafts, jobs
from app.summaries.jobs import Claimed, JobKind
from app.summaries.llm import ChatModel, ModelAnswerInvalid, ModelUnavailable
from app.summaries.models import AiJob, TranscriptPart
from app.summaries.stt import RecordingRefused, fetch_recording, transcribe
from app.summaries.transcripts import TranscriptSource, replace_transcript, transcript_of

log = logging.getLogger("ringcard.summaries")

POLL_S = 2.0  # how soon a job another instance asked for is seen here
HOUSEKEEPING_S = 60.0
STOP_GRACE_S = 3.0
RETENTION_EVERY = timedelta(hours=1)


class SummaryWorker:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, instance_id: str
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self.instance_id = instance_id[:64]
        self._wake = {kind: asyncio.Event() for kind in (JobKind.TRANSCRIBE, JobKind.SUMMARISE)}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._model: ChatModel | None = None
        # A lease longer than anything a job may take: a model call, or a fetch and a transcription.
        self.lease = timedelta(seconds=max(settings.llm_timeout_s * 2, settings.stt_timeout_s * 2) + 60)
        self._last_retention = utcnow() - RETENTION_EVERY

    @property
    def summaries_on(self) -> bool:
        return bool(self._settings.llm_base_url)

    def wake(self, kind: JobKind | None = None) -> None:
        """A job was asked for here: look now rather than at the next poll."""
        for lane in (kind,) if kind else (JobKind.TRANSCRIBE, JobKind.SUMMARISE):
            self._wake[lane].set()

    async def start(self) -> None:
        self._client = httpx.AsyncClient()
        settings = self._settings
        if settings.llm_base_url:
            self._model = ChatModel(
                self._client,
                settings.llm_base_url,
                settings.llm_model,
                api_key=settings.llm_api_key,
                timeout_s=settings.llm_timeout_s,
            )
        lanes = [JobKind.TRANSCRIBE] + ([JobKind.SUMMARISE] if self._model else [])
        for kind in lanes:
            for _ in range(settings.ai_concurrency):
                self._tasks.append(asyncio.create_task(self._lane(kind), name=f"ai-{kind}"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="ai-housekeeping"))

    async def stop(self) -> None:
        # Lanes between jobs stop at once; a lane in the middle of a database step finishes it
        # (cancelling a driver mid-statement strands its connection); a model still thinking
        # is cancelled after the grace, and its job handed back below.
        self._stopping.set()
        self.wake()
        _, running = await asyncio.wait(self._tasks, timeout=STOP_GRACE_S) if self._tasks else ((), ())
        for task in running:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        try:
            async with self._sessionmaker() as session, session.begin():
                await jobs.release_mine(session, self.instance_id)
        except Exception:  # a database already gone: the lease hands the jobs on
            log.warning("could not hand back this instance's running AI jobs; their lease will")
        if self._client is not None:
            await self._client.aclose()

    # --- the lanes ---------------------------------------------------------------------------------

    async def _lane(self, kind: JobKind) -> None:
        wake = self._wake[kind]
        while not self._stopping.is_set():
            try:
                async with self._sessionmaker() as session, session.begin():
                    job = await jobs.claim(session, kind, self.instance_id)
            except Exception:
                log.exception("could not claim an AI job; trying again shortly")
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), POLL_S)
                wake.clear()
                continue
            try:
                if kind is JobKind.SUMMARISE:
                    await self._summarise(job)
                else:
                    await self._transcribe(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug here must not stop the lane; the job's lease hands it on.
                log.exception("AI job %s failed unexpectedly", job.id)

    async def _summarise(self, job: Claimed) -> None:
        assert self._model is not None
        language = job.language or self._settings.summary_language
        async with self._sessionmaker() as session, session.begin():
            transcript = await transcript_of(session, job.call_id)
            card_json = await session.scalar(select(Call.card_json).where(Call.id == job.call_id))
            if transcript is None:
                await jobs.fail(session, job.id, self.instance_id, "the call has no transcript")
                return
            if not await drafts.mark_pending(session, job.call_id, language):
                await jobs.finish(session, job.id, self.instance_id)  # approved already: it stays
                return
        card = orjson.loads(card_json) if card_json else None
        try:
            made = await self._model.summarise(transcript.text, card, language)
        except ModelUnavailable as exc:
            await self._passing_failure(job, str(exc))
            return
        except ModelAnswerInvalid as exc:
            async with self._sessionmaker() as session, session.begin():
                await drafts.store_failure(session, job.call_id, str(exc), final=True)
                await jobs.fail(session, job.id, self.instance_id, str(exc))
            return
        async with self._sessionmaker() as session, session.begin():
            # Still the call's transcript? An erasure meanwhile removed it, and the draft with it.
            if await transcript_of(session, job.call_id) is not None:
                await drafts.store_draft(
                    session, job.call_id, made.draft, model=made.model, language=language
                )
            await jobs.finish(session, job.id, self.instance_id)

    async def _passing_failure(self, job: Claimed, error: str) -> None:
        final = job.attempts >= self._settings.ai_max_attempts
        async with self._sessionmaker() as session, session.begin():
            if job.kind is JobKind.SUMMARISE:
                shown = error if final else f"{error}; trying again"
                await drafts.store_failure(session, job.call_id, shown, final=final)
            if final:
                await jobs.fail(session, job.id, self.instance_id, error)
            else:
                backoff = self._settings.ai_retry_backoff_s * 2 ** (job.attempts - 1)
                delay = timedelta(seconds=backoff)
                await jobs.retry_later(session, job.id, self.instance_id, error, delay)
        log.info("AI job %s (%s) attempt %d failed: %s", job.id, job.kind, job.attempts, error)

    async def _transcribe(self, job: Claimed) -> None:
        settings = self._settings
        assert self._client is not None
        if not settings.stt_base_url or not job.recording_url:
            async with self._sessionmaker() as session, session.begin():
                await jobs.fail(
                    session, job.id, self.instance_id, "speech-to-text is off: set RINGCARD_STT_BASE_URL"
                )
            return
        try:
            audio = await fetch_recording(
                self._client,
                job.recording_url,
                job.recording_auth,
                twilio_auth_token=settings.twilio_auth_token,
                timeout_s=settings.stt_timeout_s,
            )
            heard = await transcribe(
                self._client,
                settings.stt_base_url,
                settings.stt_model,
                audio,
                api_key=settings.stt_api_key,
                timeout_s=settings.stt_timeout_s,
            )
        except ModelUnavailable as exc:
            await self._passing_failure(job, str(exc))
            return
        except RecordingRefused as exc:
            async with self._sessionmaker() as session, session.begin():
                await jobs.fail(session, job.id, self.instance_id, str(exc))
            return
        async with self._sessionmaker() as session, session.begin():
            await replace_transcript(
                session, job.call_id, TranscriptSource.STT, heard.segments, language=heard.language
            )
            await jobs.finish(session, job.id, self.instance_id)
        self.wake(JobKind.SUMMARISE)

    # --- housekeeping ------------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        while not self._stopping.is_set():
            try:
                async with self._sessionmaker() as session, session.begin():
                    released = await jobs.release_expired(session, self.lease)
                    if utcnow() - self._last_retention >= RETENTION_EVERY:
                        await self.apply_retention(session)
                        self._last_retention = utcnow()
                if released:
                    log.info("%d AI jobs whose instance stopped are pending again", released)
                    self.wake()
            except Exception:
                log.exception("AI job housekeeping failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), HOUSEKEEPING_S)

    async def apply_retention(self, session: AsyncSession) -> int:
        """Transcripts older than RINGCARD_TRANSCRIPT_RETENTION_DAYS go (their summaries stay),
        and so do the recordings of finished jobs. Returns how many transcript parts went."""
        days = self._settings.transcript_retention_days
        if days is None:
            return 0
        cutoff = utcnow() - timedelta(days=days)
        result = await session.execute(
            delete(TranscriptPart)
            .where(TranscriptPart.received_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(AiJob)
            .where(AiJob.updated_at < cutoff, AiJob.status.in_(("done", "failed")))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
