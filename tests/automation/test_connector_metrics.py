"""The connector outbox backlog on /metrics: the replies a messenger has not acknowledged yet, per
connector, as an operator would watch it while the messenger is down and after it is back."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from openchannels.app import create_app
from infrastructure.settings import Settings
from services.chats import chats
from services.messaging import messages
from services.automation import scheduler
from tests.automation.receivers import LocalServer, webhook_receiver
from tests.automation.test_connectors import event, post, setup_webhook, signed

TOKEN = "metrics-token"


@pytest_asyncio.fixture
async def api(db, database_url, platform) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0, metrics_token=TOKEN), platform)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as client:
        yield client


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[LocalServer]:
    server = webhook_receiver()
    await server.start()
    yield server
    await server.stop()


async def backlog(api: httpx.AsyncClient, connector_id: int) -> float | None:
    answer = await api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "openchannels_connector_outbox_backlog" and sample.labels == {
                    "connector": str(connector_id)}:
                return sample.value
    return None


async def test_the_backlog_grows_while_the_messenger_is_down_and_drains_after(db, clock, api, receiver):
    connector, op, _ = await setup_webhook(receiver)
    answer = await post(api, connector, *signed(connector, event("m-1", "Hello?"), clock.now))
    chat_id = int(answer.json()["chatId"])
    await chats.answer_chat(op, chat_id=chat_id)
    assert await backlog(api, connector.id) == 0

    await receiver.stop()
    for text in ("one", "two", "three"):
        await messages.send_message(op, chat_id=chat_id, text=text)
    await scheduler.tick()  # relayed into the outbox; the delivery fails
    assert await backlog(api, connector.id) == 3

    await receiver.start()
    for _ in range(3):
        clock.advance(300)
        await scheduler.tick()
    assert [r.json["text"] for r in receiver.received] == ["one", "two", "three"]
    assert await backlog(api, connector.id) == 0
