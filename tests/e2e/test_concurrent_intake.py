"""A messenger delivers several messages of one outside user at the same moment to a real server:
each is stored and answered `accepted`; `duplicate` only ever means "this messageId was stored
before" (a messenger drops a message answered so)."""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from services.automation.connector_adapters import sign
from tests.e2e.actors import Admin, texts, unique

pytestmark = pytest.mark.postgres_only

MESSAGES = 10


async def test_ten_messages_of_a_new_outside_user_at_once_are_all_stored(admin: Admin, deployment,
                                                                         http_client: httpx.AsyncClient):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator], distribution="ALL")
    created = await admin.mutate(
        "createConnector", "connector { id eventsPath } secret",
        {"name": unique("Site"), "kind": "WEBHOOK", "openChannelId": channel_id,
         "callbackUrl": "http://127.0.0.1:9/never-called"}, "CreateConnectorInput")
    secret, path = created["secret"], created["connector"]["eventsPath"]
    user = unique("ext")

    async def inbound(message_id: str, text: str) -> httpx.Response:
        body = json.dumps({"messageId": message_id, "from": {"id": user, "name": "Concurrent Carl"},
                           "text": text}).encode()
        timestamp = str(int(time.time()))
        return await http_client.post(f"{deployment.server.base_url}{path}", content=body, headers={
            "content-type": "application/json", "x-openchannels-timestamp": timestamp,
            "x-openchannels-signature": sign(secret, timestamp, body)})

    sent = [f"message {i}" for i in range(MESSAGES)]
    answers = await asyncio.gather(*(inbound(f"m-{i}", text) for i, text in enumerate(sent)))

    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "accepted")] * MESSAGES, \
        [a.text for a in answers]
    assert len({a.json()["chatId"] for a in answers}) == 1  # one outside user, one chat
    offered = (await operator.data("{ myChats { offered { id } } }"))["myChats"]["offered"]
    assert len(offered) == 1
    chat = await operator.chat_with_messages(offered[0]["id"])
    assert sorted(texts(chat)) == sorted(sent)
    client = (await operator.data("query ($id: ID!) { chat(id: $id) { client { name } } }", id=chat["id"]))
    assert client["chat"]["client"]["name"] == "Concurrent Carl"

    # the same ids again, all at once: each was stored before, so each is a duplicate and nothing is added
    again = await asyncio.gather(*(inbound(f"m-{i}", text) for i, text in enumerate(sent)))
    assert [(a.status_code, a.json()) for a in again] == [(200, {"status": "duplicate"})] * MESSAGES
    assert len(texts(await operator.chat_with_messages(offered[0]["id"]))) == MESSAGES
