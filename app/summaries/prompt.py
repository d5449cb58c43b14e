"""What the model is asked: the call's facts from its card (so the summary names the order), the
redacted transcript, and the answer's shape. Pure: no I/O, so a test reads exactly what is sent."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.card.contracts import ReasonCode

REASON_CODES: tuple[str, ...] = (*(code.value for code in ReasonCode), "other")
SENTIMENTS = ("positive", "neutral", "negative")
# What the transcript may take of the prompt: a small local model has a 4096-token context, and
# the card and instructions need about a quarter of it. Long calls keep their start and their end.
TRANSCRIPT_CHARS = 6000
CARD_ORDERS = 5
LANGUAGES = {"en": "English", "pl": "Polish", "de": "German", "he": "Hebrew"}

_REASONS_EXPLAINED = {
    "open_complaint": "a complaint about an order or a product",
    "return_in_progress": "returning an order",
    "exchange_in_progress": "exchanging an order",
    "payment_problem": "a payment or refund problem",
    "where_is_my_order": "asking where an order is, or when it arrives",
    "recent_order": "a question about an order just placed (change, cancel, details)",
    "other": "anything else",
}


class SummaryDraft(BaseModel):
    """The answer the model must give; anything else is refused whole."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    summary: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    reason_code: str
    disposition: Annotated[str, StringConstraints(max_length=64)] = ""
    sentiment: Literal["positive", "neutral", "negative"]
    action_items: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=10
    )

    @field_validator("reason_code", "sentiment", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("reason_code")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in REASON_CODES:
            raise ValueError(f"not one of the reason codes {', '.join(REASON_CODES)}")
        return value


# The JSON schema the server is asked to constrain its output to (llama.cpp turns it into a
# grammar; OpenAI, vLLM and Ollama honour it as structured output). Kept by hand, not generated:
# models follow a small flat schema better, and it must stay within what grammar converters take.
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "maxLength": 1000},
        "reason_code": {"type": "string", "enum": list(REASON_CODES)},
        "disposition": {"type": "string", "maxLength": 64},
        "sentiment": {"type": "string", "enum": list(SENTIMENTS)},
        "action_items": {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 5},
    },
    "required": ["summary", "reason_code", "disposition", "sentiment", "action_items"],
    "additionalProperties": False,
}


def language_name(code: str) -> str:
    return LANGUAGES.get(code.split("-")[0].lower(), code)


def system_message(language: str) -> str:
    reasons = "; ".join(f"{code}: {meaning}" for code, meaning in _REASONS_EXPLAINED.items())
    return (
        "You write the note an online store's support agent keeps after a phone call with a customer. "
        f"Write in {language_name(language)}. Answer with one JSON object only, with the keys: "
        '"summary" (two or three sentences: what the customer wanted, naming the order number, and '
        'what was agreed), "reason_code" (why they called, one of: '
        f"{reasons}), "
        '"disposition" (the outcome in a few words, e.g. "resolved", "refund promised", "call back"), '
        '"sentiment" (the customer\'s mood: positive, neutral or negative) and '
        '"action_items" (what the store still has to do, a list of short strings, empty if nothing). '
        "Use only facts from the call and the store's records below."
    )


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return text[:half] + "\n[…]\n" + text[-half:]


def _numbered(number: object) -> str:
    """An order's number as agents say it: Shopify's already start with #, WooCommerce's do not."""
    return "#" + str(number).lstrip("#")


def _order_line(order: dict[str, Any]) -> str:
    parts = [
        f"order {_numbered(order.get('number') or order.get('external_id'))}",
        str(order.get("status") or ""),
    ]
    if order.get("total"):
        parts.append(f"{order['total']} {order.get('currency') or ''}".strip())
    for label in ("placed_at", "shipped_at", "delivered_at"):
        if order.get(label):
            parts.append(f"{label.removesuffix('_at')} {str(order[label])[:10]}")
    items = [str(item.get("name") or item.get("title") or "") for item in order.get("items") or []]
    if any(items):
        parts.append("items: " + ", ".join(name for name in items[:5] if name))
    return "- " + ", ".join(part for part in parts if part)


def card_facts(card: dict[str, Any] | None) -> str:
    """The store's records of the caller as the card showed them at ring time."""
    if not card:
        return "The caller was not found in the store's records."
    lines: list[str] = []
    customer = card.get("customer")
    if customer:
        lines.append(f"Customer: {customer.get('name') or 'unknown'}")
    orders = card.get("orders") or []
    if orders:
        lines.append("Their latest orders:")
        lines.extend(_order_line(order) for order in orders[:CARD_ORDERS])
    for case in card.get("open_cases") or []:
        about = f" about order {_numbered(case['order_number'])}" if case.get("order_number") else ""
        lines.append(f"Open {case.get('kind')}{about}: {case.get('subject') or ''}".rstrip(": "))
    reason = (card.get("likely_reason") or {}).get("text")
    if reason:
        lines.append(f"Likely reason shown to the agent: {reason}")
    return "\n".join(lines) or "The caller was not found in the store's records."


def messages(transcript: str, card: dict[str, Any] | None, language: str) -> list[dict[str, str]]:
    user = (
        f"{card_facts(card)}\n\nTranscript of the call:\n{_clip(transcript, TRANSCRIPT_CHARS)}\n\n"
        "Write the JSON now."
    )
    return [{"role": "system", "content": system_message(language)}, {"role": "user", "content": user}]
