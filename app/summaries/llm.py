"""A summary from any OpenAI-compatible `/v1/chat/completions` endpoint (Ollama, vLLM, llama.cpp's
server, a hosted API), asked for JSON and validated. An answer that does not validate is asked for
once more, then the summary has failed; nothing half is ever returned."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from app.summaries.prompt import ANSWER_SCHEMA, SummaryDraft, messages

log = logging.getLogger("ringcard.summaries")

MAX_TOKENS = 512
ANSWERS_TRIED = 2  # the first answer, and once more when it does not validate


class ModelUnavailable(Exception):
    """The model could not be asked (down, timed out, refused): worth trying again later."""


class ModelAnswerInvalid(Exception):
    """The model answered, twice, with something that is not the summary asked for."""


@dataclass(frozen=True, slots=True)
class Summarised:
    draft: SummaryDraft
    model: str


def _json_schema_format() -> dict[str, Any]:
    # OpenAI's structured outputs; vLLM, Ollama ≥ 0.5 and newer llama.cpp servers take it too.
    return {"type": "json_schema", "json_schema": {"name": "call_summary", "schema": ANSWER_SCHEMA}}


def _json_object_format() -> dict[str, Any]:
    # llama-cpp-python's server (0.3.x) only takes json_object, with the schema beside it.
    return {"type": "json_object", "schema": ANSWER_SCHEMA}


def parse_answer(content: str) -> SummaryDraft:
    """The model's answer as a summary, or ValueError saying what is wrong with it. Small models
    sometimes wrap the JSON in prose or a code fence: the outermost object is taken."""
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("the answer holds no JSON object")
    try:
        # strict=False: a literal newline inside a string is a slip worth forgiving, not a refusal.
        data = json.loads(content[start : end + 1], strict=False)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    try:
        return SummaryDraft.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"the answer does not have the summary's shape ({problems})") from None


class ChatModel:
    """One OpenAI-compatible chat endpoint. Learns once whether the server takes `json_schema`
    or only llama.cpp's `json_object` + schema, and keeps asking it the way it takes."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, model: str, *, api_key: str | None, timeout_s: float
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        self._format = _json_schema_format()

    async def summarise(self, transcript: str, card: dict[str, Any] | None, language: str) -> Summarised:
        asked = messages(transcript, card, language)
        problem = ""
        for _ in range(ANSWERS_TRIED):
            content = await self._complete(asked)
            try:
                return Summarised(parse_answer(content), self.model)
            except ValueError as exc:
                problem = str(exc)
                log.info("the model's summary did not validate: %s", problem)
        raise ModelAnswerInvalid(f"the model answered twice without a valid summary: {problem}")

    async def _complete(self, asked: list[dict[str, str]]) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": asked,
            "temperature": 0.2,
            "max_tokens": MAX_TOKENS,
            "response_format": self._format,
        }
        response = await self._post(body)
        refused_format = response.status_code in (400, 422, 500) and (
            "response_format" in response.text or "json_schema" in response.text
        )
        if refused_format and self._format["type"] == "json_schema":
            self._format = _json_object_format()
            body["response_format"] = self._format
            response = await self._post(body)
        if response.status_code >= 400:
            raise ModelUnavailable(f"the model's server answered {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ModelAnswerInvalid("the model's server answered something that is no completion") from None
        if not isinstance(content, str):
            raise ModelAnswerInvalid("the model's server answered a completion without text")
        return content

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._client.post(self._url, json=body, headers=self._headers, timeout=self._timeout)
        except httpx.TimeoutException:
            raise ModelUnavailable("the model did not answer in time (RINGCARD_LLM_TIMEOUT_S)") from None
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
            raise ModelUnavailable(f"the model's server could not be reached ({problem})") from None
