"""What a model may answer and what becomes of it: the summary's shape is checked whole, the
slips small models make are forgiven where the meaning is plain, anything else is refused
saying why. And what the model is asked: the call's card facts and the transcript."""

from __future__ import annotations

import pytest

from app.summaries.llm import parse_answer
from app.summaries.prompt import REASON_CODES, messages

GOOD = (
    '{"summary": "Anna asked where order #1042 is; it arrives tomorrow.", "reason_code": "where_is_my_order",'
    ' "disposition": "resolved", "sentiment": "neutral", "action_items": []}'
)


def test_a_valid_answer_is_taken_whole() -> None:
    draft = parse_answer(GOOD)
    assert (draft.reason_code, draft.sentiment, draft.disposition) == (
        "where_is_my_order",
        "neutral",
        "resolved",
    )


@pytest.mark.parametrize(
    "answer",
    [
        f"Here is the JSON:\n```json\n{GOOD}\n```",
        GOOD.replace("Anna asked", "Anna\nasked"),  # a literal newline inside a string
        GOOD.replace('"where_is_my_order"', '" Where_Is_My_Order "').replace('"neutral"', '"NEUTRAL"'),
    ],
)
def test_slips_that_keep_the_meaning_plain_are_forgiven(answer: str) -> None:
    assert parse_answer(answer).reason_code == "where_is_my_order"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("Sure! The customer called.", "the answer holds no JSON object"),
        (
            '{"summary": "x", "reason_code": "where_is_my_order", "sentiment": ',
            "the answer holds no JSON object",
        ),
        ('{"summary": "x" "reason_code": 1}', "the answer is not valid JSON"),
        (
            GOOD.replace("where_is_my_order", "shipping"),
            "reason_code: Value error, not one of the reason codes",
        ),
        (
            GOOD.replace('"neutral"', '"angry"'),
            "sentiment: Input should be 'positive', 'neutral' or 'negative'",
        ),
        (
            GOOD.replace(
                '"summary": "Anna asked where order #1042 is; it arrives tomorrow."', '"summary": ""'
            ),
            "summary: String should have at least 1 character",
        ),
        (
            GOOD.replace('"action_items": []', '"action_items": "call back"'),
            "action_items: Input should be a valid list",
        ),
    ],
)
def test_anything_else_is_refused_saying_why(answer: str, problem: str) -> None:
    with pytest.raises(ValueError, match="") as refused:
        parse_answer(answer)
    assert problem in str(refused.value)


def test_the_model_is_asked_with_the_cards_orders_and_cases_in_the_agents_language() -> None:
    card = {
        "customer": {"name": "Anna Nowak"},
        "orders": [
            {
                "number": "#1042",
                "status": "shipped",
                "total": "129.00",
                "currency": "PLN",
                "shipped_at": "2026-11-30T10:00:00+00:00",
                "items": [{"name": "Kettle"}],
            },
        ],
        "open_cases": [{"kind": "complaint", "order_number": "#1042", "subject": "Lid broken"}],
        "likely_reason": {"text": "Probably about complaint C-88 on order #1042"},
    }
    system, user = messages("customer: where is my kettle?", card, "pl")
    assert "Write in Polish" in system["content"]
    assert all(code in system["content"] for code in REASON_CODES)
    assert "- order ##1042" not in user["content"]
    assert "order #1042, shipped, 129.00 PLN, shipped 2026-11-30, items: Kettle" in user["content"]
    assert "Open complaint about order #1042: Lid broken" in user["content"]
    assert user["content"].endswith("customer: where is my kettle?\n\nWrite the JSON now.")


def test_a_long_call_keeps_its_beginning_and_its_end_within_the_models_context() -> None:
    transcript = "start " + "blah " * 5000 + " the end"
    [_, user] = messages(transcript, None, "en")
    assert "The caller was not found in the store's records." in user["content"]
    assert "start" in user["content"] and "the end" in user["content"] and "[…]" in user["content"]
    assert len(user["content"]) < 7000
