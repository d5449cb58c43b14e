"""A call's recording, offered by a provider callback or the transcript endpoint: a transcription
job to fetch it at once (Telnyx's links expire after ten minutes) and turn it into the call's
transcript through speech-to-text."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.summaries.jobs import JobKind, enqueue
from app.summaries.stt import check_recording_url


async def take_recording(session: AsyncSession, call_id: str, url: str, *, auth: str | None) -> bool:
    """Ask for the recording at `url` to be transcribed (`auth`: "twilio:<AccountSid>" for a
    Twilio recording, None for a link that needs nothing). Returns False for a link this service
    does not fetch. Whether speech-to-text is configured is the worker's to say: the job then
    fails with that reason, visible on the call."""
    try:
        check_recording_url(url)
    except ValueError:
        return False
    await enqueue(session, JobKind.TRANSCRIBE, call_id, recording_url=url, recording_auth=auth)
    return True
