"""Outbound webhooks against a real server and its own scheduler loop (real clock), restarted in
the middle: the receiver down, the server stopped with events not delivered, then both back:
every event arrives, signed, once acknowledged, in order; the event log (the chat's timeline) is
the ground truth."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.automation.connector_adapters import sign
from tests.automation.receivers import hook_receiver
from tests.e2e.actors import Admin, GraphQLHttp, Operator, start_visitor_chat
from tests.e2e.server import Deployment, prepare

DELIVERY_SECONDS = 40
TIMELINE = """query($id: ID!) { chat(id: $id) { timeline(first: 100) { edges { node { eventId kind } } } } }"""


async def wait_for(predicate, seconds: float = DELIVERY_SECONDS) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():
            await asyncio.sleep(0.05)  # polling for the effect, bounded


@pytest_asyncio.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
async def restartable(request: pytest.FixtureRequest, tmp_path_factory) -> AsyncIterator[Deployment]:
    """A deployment of its own: its server is stopped and started again."""
    deployment = await prepare(request.param, tmp_path_factory.mktemp(f"webhooks-{request.param}"))
    try:
        yield deployment
    finally:
        await deployment.close()


async def test_a_server_restart_in_the_middle_loses_no_event(restartable: Deployment, http_client: httpx.AsyncClient):
    deployment = restartable
    receiver = hook_receiver()
    await receiver.start()
    try:
        http = GraphQLHttp(http_client, deployment.server.graphql_url)
        admin = Admin(http, deployment.admin_token)
        operator = await admin.create_operator()
        channel_id = await admin.create_open_channel([operator], distribution="ALL")
        created = await admin.mutate("createWebhook", "webhook { id } secret", {"url": f"{receiver.url}/hook"},
                                     "CreateWebhookInput")
        secret = created["secret"]

        visitor = await start_visitor_chat(http, channel_id, "Hello, anyone there?")
        await operator.answer(visitor.chat_id)
        await wait_for(lambda: "CHAT_ANSWERED" in [b["kind"] for b in receiver.acknowledged()])

        await receiver.stop()
        for text in ("during the outage 1", "during the outage 2"):
            await operator.send(visitor.chat_id, text)
        await wait_for(lambda: "delivery of event" in deployment.server.log())  # tried, failed
        deployment.stop_server(deployment.server)  # the restart: nothing but the database carries over
        await receiver.start()
        server = await deployment.start_server()
        http = GraphQLHttp(http_client, server.graphql_url)
        operator = Operator(http, operator.token, id=operator.id, email=operator.email)
        await operator.send(visitor.chat_id, "after the restart")
        await wait_for(lambda: "after the restart" in [(b["message"] or {}).get("text")
                                                       for b in receiver.acknowledged()])
        await asyncio.sleep(1.5)  # one more scheduler round: nothing may arrive twice

        timeline = (await Admin(http, deployment.admin_token).data(TIMELINE, id=visitor.chat_id))["chat"]["timeline"]
        logged = [e["node"]["eventId"] for e in timeline["edges"]]
        bodies = receiver.acknowledged()
        assert [b["eventId"] for b in bodies] == logged  # every event of the log, once, in order
        assert [b["message"]["text"] for b in bodies if b["message"]] == [
            "Hello, anyone there?", "during the outage 1", "during the outage 2", "after the restart"]
        for answered in receiver.answered:
            request = answered.request
            assert request.headers["x-openchannels-signature"] == sign(
                secret, request.headers["x-openchannels-timestamp"], request.body)
        listed = await Admin(http, deployment.admin_token).data("{ webhooks { deliveredEventId failing } }")
        assert listed["webhooks"] == [{"deliveredEventId": logged[-1], "failing": False}]
    finally:
        await receiver.stop()
