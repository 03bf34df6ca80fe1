"""Connectors: a signed webhook and a Telegram bot, in and out, against local HTTP servers.

Inbound requests go through the application's real endpoint (ASGI); outbound replies are
delivered by the scheduler's tick over real HTTP to a local receiver. The clock is injected.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from models import Chat, ChatStatus, Client, ConnectorClient, ConnectorOutbox, Event, Message, QueueDistribution
from openchannels.app import create_app
from infrastructure.settings import Settings
from services.chats import chats
from services.automation import connector_outbox
from services.automation import connectors
from services.messaging import messages
from services.automation import scheduler
from services.automation.connector_adapters import sign
from services.common.errors import Forbidden
from tests.automation.receivers import LocalServer, fake_telegram, webhook_receiver
from tests.factories import make_admin, make_open_channel, make_operator
from tests.graphql.helpers import execute

BOT_TOKEN = "123456:TEST-token"


@pytest_asyncio.fixture
async def api(db, database_url, platform) -> AsyncIterator[httpx.AsyncClient]:
    """The application's HTTP endpoints, in process (the test's database and broker)."""
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0), platform)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as client:
        yield client


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[LocalServer]:
    server = webhook_receiver()
    await server.start()
    yield server
    await server.stop()


async def setup_webhook(receiver: LocalServer):
    operator, op_viewer = await make_operator("Olga")
    _, admin = await make_admin()
    channel = await make_open_channel([operator], distribution=QueueDistribution.ALL, admin=admin)
    connector = await connectors.create_connector(admin, name="Shop site", kind="WEBHOOK",
                                                  open_channel_id=channel.id, callback_url=f"{receiver.url}/hook")
    return connector, op_viewer, admin


def signed(connector, payload: dict, at, *, secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    timestamp = str(int(at.timestamp()))
    return body, {"content-type": "application/json", "x-openchannels-timestamp": timestamp,
                  "x-openchannels-signature": sign(secret or connector.secret, timestamp, body)}


def event(message_id: str, text: str, user: str = "u-42", name: str = "Ann from the site") -> dict:
    return {"messageId": message_id, "from": {"id": user, "name": name}, "text": text}


async def post(api, connector, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await api.post(f"/connectors/{connector.id}/events", content=body, headers=headers)


async def state() -> tuple[int, int, int]:
    return await Chat.all().count(), await Message.all().count(), await Event.all().count()


async def test_a_webhook_round_trip(db, clock, api, receiver):
    connector, op, _ = await setup_webhook(receiver)

    answer = await post(api, connector, *signed(connector, event("m-1", "Hi, is my order shipped?"), clock.now))

    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    chat = await Chat.get(id=int(answer.json()["chatId"]))
    assert chat.status == ChatStatus.QUEUED and chat.title == "Ann from the site"
    assert [m.text for m in await Message.filter(chat_id=chat.id).order_by("id")] == ["Hi, is my order shipped?"]

    await chats.answer_chat(op, chat_id=chat.id)
    await messages.send_message(op, chat_id=chat.id, text="Yes, yesterday.")
    await messages.send_message(op, chat_id=chat.id, text="Client is impatient", silent=True)
    await messages.send_message(op, chat_id=chat.id, text="Tracking: AB123")
    second = await post(api, connector, *signed(connector, event("m-2", "Thanks!"), clock.now))
    assert second.json()["chatId"] == str(chat.id)  # the same open chat

    assert await scheduler.tick() >= 2

    assert [r.json["text"] for r in receiver.received] == ["Yes, yesterday.", "Tracking: AB123"]
    for request in receiver.received:
        assert request.json["to"] == "u-42"
        timestamp = request.headers["x-openchannels-timestamp"]
        assert request.headers["x-openchannels-signature"] == sign(connector.secret, timestamp, request.body)
    assert await scheduler.tick() == 0
    assert len(receiver.received) == 2  # acknowledged: never again


async def test_bad_signature_replay_and_duplicates_change_nothing(db, clock, api, receiver):
    connector, _, admin = await setup_webhook(receiver)
    accepted = await post(api, connector, *signed(connector, event("m-1", "First"), clock.now))
    assert accepted.status_code == 200
    before = await state()

    body, headers = signed(connector, event("m-2", "Forged"), clock.now)
    forged = await post(api, connector, body, {**headers, "x-openchannels-signature": "sha256=" + "0" * 64})
    tampered = await post(api, connector, body.replace(b"Forged", b"Edited"), headers)
    stale = await post(api, connector, *signed(connector, event("m-3", "Old"), clock.now.replace(year=2029)))
    clock.advance(30)
    duplicate = await post(api, connector, *signed(connector, event("m-1", "First again"), clock.now))
    unknown = await api.post("/connectors/999/events", content=body, headers=headers)

    assert [forged.status_code, tampered.status_code, stale.status_code] == [401, 401, 401]
    assert (duplicate.status_code, duplicate.json()) == (200, {"status": "duplicate"})
    assert unknown.status_code == 404
    assert await state() == before

    rotated = await connectors.rotate_secret(admin, connector_id=connector.id)
    old = await post(api, connector, *signed(connector, event("m-4", "Old secret"), clock.now))
    new = await post(api, connector, *signed(rotated, event("m-5", "New secret"), clock.now))
    assert (old.status_code, new.status_code) == (401, 200)


@pytest.mark.postgres_only
async def test_a_new_users_messages_at_once_are_all_stored_and_only_stored_ids_are_duplicates(db, clock, api,
                                                                                              receiver):
    """Six messages of a user never seen, all at once: each makes the user's client, one does: all six
    are accepted, in one chat. Then six more and the first six again, all at once: six accepted,
    six duplicates (a duplicate is an id stored before, and nothing else)."""
    connector, _, _ = await setup_webhook(receiver)

    async def send(ids: list[str]) -> list[httpx.Response]:
        return await asyncio.gather(*(post(api, connector, *signed(
            connector, event(i, f"text of {i}", user="new-user"), clock.now)) for i in ids))

    first = await send([f"m-{i}" for i in range(6)])
    assert [(a.status_code, a.json()["status"]) for a in first] == [(200, "accepted")] * 6, [a.text for a in first]
    second = await send([f"m-{i}" for i in range(12)])
    assert [a.json()["status"] for a in second] == ["duplicate"] * 6 + ["accepted"] * 6

    [chat] = await Chat.all()
    assert sorted(await Message.filter(chat_id=chat.id).values_list("text", flat=True)) == \
        sorted(f"text of m-{i}" for i in range(12))
    assert await Client.all().count() == 1 and await ConnectorClient.all().count() == 1


async def test_receiver_down_then_up_every_reply_arrives_once_in_order(db, clock, api, receiver):
    connector, op, _ = await setup_webhook(receiver)
    answer = await post(api, connector, *signed(connector, event("m-1", "Hello?"), clock.now))
    chat_id = int(answer.json()["chatId"])
    await chats.answer_chat(op, chat_id=chat_id)
    await receiver.stop()

    for text in ("one", "two", "three"):
        await messages.send_message(op, chat_id=chat_id, text=text)
    for _ in range(4):  # down: every attempt fails, and waits longer each time
        await scheduler.tick()
        clock.advance(60)
    first = await ConnectorOutbox.filter(connector_id=connector.id).order_by("id").first()
    assert first.delivered_at is None and first.attempts == 4 and first.last_error
    assert await ConnectorOutbox.filter(attempts__gt=0).count() == 1  # later replies wait behind it

    await receiver.start()
    await messages.send_message(op, chat_id=chat_id, text="four")
    clock.advance(300)
    await scheduler.tick()
    for _ in range(3):
        clock.advance(300)
        await scheduler.tick()

    assert [r.json["text"] for r in receiver.received] == ["one", "two", "three", "four"]
    assert not await ConnectorOutbox.filter(delivered_at__isnull=True).exists()


@pytest.mark.postgres_only
async def test_two_loops_deliver_each_reply_once(db, clock, api, receiver):
    connector, op, _ = await setup_webhook(receiver)
    answer = await post(api, connector, *signed(connector, event("m-1", "Hello?"), clock.now))
    chat_id = int(answer.json()["chatId"])
    await chats.answer_chat(op, chat_id=chat_id)
    for n in range(10):
        await messages.send_message(op, chat_id=chat_id, text=f"reply {n}")

    await asyncio.gather(*(scheduler.tick() for _ in range(4)))
    await asyncio.gather(*(scheduler.tick() for _ in range(4)))

    assert [r.json["text"] for r in receiver.received] == [f"reply {n}" for n in range(10)]


async def test_a_telegram_bot_in_and_out(db, clock, api):
    telegram = fake_telegram(BOT_TOKEN)
    await telegram.start()
    try:
        operator, op = await make_operator("Olga")
        _, admin = await make_admin()
        channel = await make_open_channel([operator], distribution=QueueDistribution.ALL, admin=admin)
        connector = await connectors.create_connector(admin, name="Bot", kind="TELEGRAM", open_channel_id=channel.id,
                                                      bot_token=BOT_TOKEN, api_url=telegram.url)
        update = {"update_id": 1001, "message": {"message_id": 7, "date": 0, "text": "Hello bot",
                                                 "chat": {"id": 555, "type": "private"},
                                                 "from": {"id": 555, "first_name": "Ivan", "last_name": "P"}}}
        body = json.dumps(update).encode()
        bad = await api.post(f"/connectors/{connector.id}/events", content=body,
                             headers={"x-telegram-bot-api-secret-token": "wrong"})
        good = await api.post(f"/connectors/{connector.id}/events", content=body,
                              headers={"x-telegram-bot-api-secret-token": connector.secret})
        again = await api.post(f"/connectors/{connector.id}/events", content=body,
                               headers={"x-telegram-bot-api-secret-token": connector.secret})

        assert bad.status_code == 401
        assert good.json()["status"] == "accepted" and again.json() == {"status": "duplicate"}
        chat = await Chat.get(id=int(good.json()["chatId"]))
        assert chat.title == "Ivan P"
        await chats.answer_chat(op, chat_id=chat.id)
        await messages.send_message(op, chat_id=chat.id, text="Note", silent=True)
        await messages.send_message(op, chat_id=chat.id, text="Hi Ivan!")
        await scheduler.tick()

        assert [(r.path, r.json) for r in telegram.received] == [
            (f"/bot{BOT_TOKEN}/sendMessage", {"chat_id": "555", "text": "Hi Ivan!"})]
    finally:
        await telegram.stop()


async def test_the_registry_through_graphql_is_for_admins(db, receiver):
    _, admin = await make_admin()
    _, operator = await make_operator()
    channel = await make_open_channel([], admin=admin)
    from resolvers.ids import to_global_id
    create = """mutation ($input: CreateConnectorInput!) { createConnector(input: $input) {
      connector { id name kind callbackUrl eventsPath } secret userErrors { code field } } }"""
    variables = {"name": "Site", "kind": "WEBHOOK", "openChannelId": to_global_id("OpenChannel", channel.id),
                 "callbackUrl": f"{receiver.url}/hook"}

    refused = await execute(create, operator, input=variables)
    created = await execute(create, admin, input=variables)
    invalid = await execute(create, admin, input={**variables, "callbackUrl": "ftp://x"})

    assert refused["createConnector"]["userErrors"] == [{"code": "FORBIDDEN", "field": None}]
    payload = created["createConnector"]
    assert payload["userErrors"] == [] and len(payload["secret"]) >= 32
    assert payload["connector"]["eventsPath"].startswith("/connectors/")
    assert invalid["createConnector"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "callbackUrl"]}]
    listed = await execute("{ connectors { id name kind } }", admin)
    assert listed["connectors"] == [{"id": payload["connector"]["id"], "name": "Site", "kind": "WEBHOOK"}]
    rotated = await execute("mutation ($id: ID!) { rotateConnectorSecret(input: {connectorId: $id}) "
                            "{ secret userErrors { code } } }", admin, id=payload["connector"]["id"])
    assert rotated["rotateConnectorSecret"]["secret"] not in (None, payload["secret"])
    with pytest.raises(Forbidden):
        await connectors.list_connectors(operator)
