"""Links out of the card for records the sync API and the import wrote: the order's, the customer's
and the case's pages from the configured templates (values percent-encoded), a case's own helpdesk
URL first, and no link at all when nothing is configured. On SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import orjson
import pytest

from app.settings import Settings
from tests.card.test_matching import lookup, put
from tests.conftest import SYNC, make_settings
from tests.fixtures.store_records import case, customer, order

ORDER_TEMPLATE = "https://shop.example/admin/orders/{external_id}?number={number}"
CUSTOMER_TEMPLATE = "https://shop.example/admin/customers/{external_id}"
CASE_TEMPLATE = "https://help.example/cases/{external_id}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        order_url_template=ORDER_TEMPLATE,
        customer_url_template=CUSTOMER_TEMPLATE,
        case_url_template=CASE_TEMPLATE,
    )


async def test_sync_api_records_link_to_the_pages_the_templates_name(app_client: httpx.AsyncClient) -> None:
    await put(app_client, "customers", "c-1", customer())
    # An external id with a slash and a space can only arrive through the import (a PUT's path
    # cannot carry a slash): it stays one path segment of the link.
    lines = [{"type": "order", "external_id": "2024/17 A", **order("#1042", "10.00")}]
    imported = await app_client.post(
        "/api/v1/import",
        content=b"\n".join(orjson.dumps(line) for line in lines),
        headers={**SYNC, "Content-Type": "application/x-ndjson"},
    )
    assert imported.status_code == 200, imported.text
    await put(app_client, "cases", "C-88", case(url="https://desk.example/tickets/88?view=full"))
    await put(app_client, "cases", "C 89", case(kind="return"))

    card = await lookup(app_client, "+48601234567")
    assert card["customer"]["admin_url"] == "https://shop.example/admin/customers/c-1"
    assert card["match"]["candidates"][0]["admin_url"] == "https://shop.example/admin/customers/c-1"
    assert [o["admin_url"] for o in card["orders"]] == [
        "https://shop.example/admin/orders/2024%2F17%20A?number=%231042"
    ]
    # The helpdesk URL the store sent comes first; a case without one gets the template's.
    assert {c["external_id"]: c["url"] for c in card["open_cases"]} == {
        "C-88": "https://desk.example/tickets/88?view=full",
        "C 89": "https://help.example/cases/C%2089",
    }


async def test_a_case_url_that_is_not_a_web_page_is_a_422_naming_the_field(
    app_client: httpx.AsyncClient,
) -> None:
    for bad in ("javascript:alert(1)", "/tickets/88", "ftp://desk.example/88", "https:///88"):
        answer = await app_client.put("/api/v1/cases/C-1", json=case(url=bad), headers=SYNC)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["error"].startswith("url: "), answer.json()
        assert "http" in answer.json()["error"]
    # Nothing was stored: the case is not on the card.
    await put(app_client, "customers", "c-1", customer())
    assert (await lookup(app_client, "+48601234567"))["open_cases"] == []


async def test_without_templates_the_card_has_no_links(database_url: str) -> None:
    from app.main import create_app

    app = create_app(make_settings(database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await put(client, "customers", "c-1", customer())
            await put(client, "orders", "o-1", order("#1", "10.00"))
            await put(client, "cases", "C-1", case())
            card = await lookup(client, "+48601234567")
    assert card["customer"]["admin_url"] is None
    assert [o["admin_url"] for o in card["orders"]] == [None]
    assert [c["url"] for c in card["open_cases"]] == [None]
