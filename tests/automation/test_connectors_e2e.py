"""A webhook connector against a real server and its own scheduler loop (real clock):
a signed event becomes a chat, replies arrive signed; the receiver down for a while, then up:
every reply arrives once, in order."""
from __future__ import annotations

import asyncio
import json
import time

import httpx

from services.automation.connector_adapters import sign
from tests.automation.receivers import webhook_receiver
from tests.e2e.actors import Admin, unique

DELIVERY_SECONDS = 30


async def wait_for(predicate, seconds: float = DELIVERY_SECONDS, what: str = "") -> None:
    async with asyncio.timeout(seconds):
        while not predicate():
            await asyncio.sleep(0.05)  # polling for the effect, bounded


async def test_a_webhook_connector_end_to_end(admin: Admin, deployment, http_client: httpx.AsyncClient):
    receiver = webhook_receiver()
    await receiver.start()
    try:
        operator = await admin.create_operator()
        channel_id = await admin.create_open_channel([operator], distribution="ALL")
        created = await admin.mutate(
            "createConnector", "connector { id eventsPath } secret",
            {"name": unique("Site"), "kind": "WEBHOOK", "openChannelId": channel_id,
             "callbackUrl": f"{receiver.url}/hook"}, "CreateConnectorInput")
        secret, path = created["secret"], created["connector"]["eventsPath"]

        async def inbound(message_id: str, text: str, *, key: str = secret, at: float | None = None):
            body = json.dumps({"messageId": message_id, "from": {"id": "ext-1", "name": "Webhook Ann"},
                               "text": text}).encode()
            timestamp = str(int(at if at is not None else time.time()))
            return await http_client.post(f"{deployment.server.base_url}{path}", content=body, headers={
                "content-type": "application/json", "x-openchannels-timestamp": timestamp,
                "x-openchannels-signature": sign(key, timestamp, body)})

        accepted = await inbound("e-1", "Where is my order?")
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
        assert (await inbound("e-1", "Where is my order?")).json() == {"status": "duplicate"}
        assert (await inbound("e-2", "Forged", key="not-the-secret")).status_code == 401
        assert (await inbound("e-3", "Replayed", at=time.time() - 3600)).status_code == 401

        offered = (await operator.data("{ myChats { offered { id messages(first: 10) { edges { node { text } } } } } }"))
        [chat] = [c for c in offered["myChats"]["offered"]]
        assert [e["node"]["text"] for e in chat["messages"]["edges"]] == ["Where is my order?"]
        await operator.answer(chat["id"])

        await operator.send(chat["id"], "Shipped yesterday.")
        await wait_for(lambda: len(receiver.received) == 1)
        first = receiver.received[0]
        assert first.json["text"] == "Shipped yesterday." and first.json["to"] == "ext-1"
        assert first.headers["x-openchannels-signature"] == sign(
            secret, first.headers["x-openchannels-timestamp"], first.body)

        await receiver.stop()
        for text in ("one", "two", "three"):
            await operator.send(chat["id"], text)
        await operator.send(chat["id"], "internal: call them", silent=True)
        await wait_for(lambda: deployment.server.log().count("delivery of message") >= 2)  # tried, failed, retried
        await receiver.start()
        await operator.send(chat["id"], "four")
        await wait_for(lambda: len(receiver.received) >= 5)
        await asyncio.sleep(1.5)  # one more scheduler round: nothing may arrive twice

        assert [r.json["text"] for r in receiver.received] == ["Shipped yesterday.", "one", "two", "three", "four"]
    finally:
        await receiver.stop()
