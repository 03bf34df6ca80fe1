"""Two server processes on one PostgreSQL database and one Redis channel: an event caused
through one process reaches a subscriber connected to the other."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.actors import CHAT_EVENTS, QUEUE_CHANGED, Admin, GraphQLHttp, Operator, Visitor, start_visitor_chat
from tests.e2e.live import LEGACY_WS, TRANSPORT_WS, LiveConnection
from tests.e2e.server import Deployment, ServerProcess

pytestmark = pytest.mark.postgres_only


@pytest_asyncio.fixture
async def process_b(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    """A second server process on the deployment's database and Redis channel."""
    server = await deployment.start_server()
    try:
        yield server
    finally:
        deployment.stop_server(server)


async def test_a_subscriber_on_one_process_sees_changes_made_through_another(
    deployment: Deployment, admin: Admin, http: GraphQLHttp, http_client, process_b: ServerProcess,
):
    process_a = deployment.server
    assert process_a.port != process_b.port and process_a.process.pid != process_b.process.pid
    on_b = GraphQLHttp(http_client, process_b.graphql_url)
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    first = await start_visitor_chat(http, channel_id)  # through A

    async with LiveConnection(process_a.ws_url, protocol=TRANSPORT_WS, token=operator.token) as on_a:
        queue = await on_a.subscribe(QUEUE_CHANGED, {"ids": [channel_id], "after": "0"})
        # the replay of the first chat proves the subscription reads the live feed from here on:
        # anything later can only reach process A through Redis
        replayed = [(await queue.next())["queueChanged"] for _ in range(2)]
        assert [e["kind"] for e in replayed] == ["CHAT_QUEUED", "CHAT_OFFERED"]

        second = await start_visitor_chat(on_b, channel_id, text="Hello through process B")
        live = [(await queue.next())["queueChanged"] for _ in range(2)]
        assert [(e["kind"], e["chat"]["id"]) for e in live] == [("CHAT_QUEUED", second.chat_id),
                                                                ("CHAT_OFFERED", second.chat_id)]
        assert live[1]["queueLength"] == 2

        # the operator works through process B; process A streams the chat
        operator_on_b = Operator(on_b, operator.token, id=operator.id)
        await operator_on_b.answer(second.chat_id)
        answered = (await queue.next())["queueChanged"]
        assert (answered["kind"], answered["chat"]["id"]) == ("CHAT_ANSWERED", second.chat_id)

        chat = await on_a.subscribe(CHAT_EVENTS, {"chatId": second.chat_id,
                                                  "after": str(int(answered["eventId"]) - 1)})
        assert (await chat.next())["chatEvents"]["eventId"] == answered["eventId"]  # replayed: now live
        sent = await operator_on_b.send(second.chat_id, "Sent through process B")
        event = (await chat.next())["chatEvents"]
        assert (event["kind"], event["message"]["id"], event["message"]["text"]) == (
            "MESSAGE_ADDED", sent["id"], "Sent through process B")

    # and the other way round, on the legacy protocol: subscriber on B, visitor writing through A
    async with LiveConnection(process_b.ws_url, protocol=LEGACY_WS, token=operator.token) as on_b_ws:
        chat = await on_b_ws.subscribe(CHAT_EVENTS, {"chatId": second.chat_id, "after": event["eventId"]})
        await operator.send(second.chat_id, "marker through A")  # the first event: the subscription is live
        assert (await chat.next())["chatEvents"]["message"]["text"] == "marker through A"
        visitor_on_a = Visitor(http, second.token, chat_id=second.chat_id)
        reply = await visitor_on_a.send("Reply through process A")
        event = (await chat.next())["chatEvents"]
        assert (event["kind"], event["message"]["id"]) == ("MESSAGE_ADDED", reply["id"])


METRICS_TOKEN = "e2e-two-processes-metrics"
RECEIVED = "openchannels_broker_events_received_total"


async def events_received(client, server: ServerProcess) -> float:
    """How many messages the process read from the Redis event channel (its /metrics)."""
    answer = await client.get(f"{server.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    samples = {sample.name: sample.value for family in text_string_to_metric_families(answer.text)
               for sample in family.samples}
    return samples[RECEIVED]


async def test_a_process_without_subscribers_receives_no_event_and_a_subscriber_on_the_other_gets_every_one(
    deployment: Deployment, admin: Admin, http: GraphQLHttp, http_client,
):
    """Issue #18, processes that add up: a process does no work per event for subscribers it does
    not have (Redis sends it nothing: it is subscribed to the event channel only while a
    subscription of its own runs); a subscriber on the other process still gets every event,
    those made through either process, in order."""
    quiet = await deployment.start_server(env={"METRICS_TOKEN": METRICS_TOKEN})
    try:
        operator = await admin.create_operator()
        channel_id = await admin.create_open_channel([operator])
        chat = await start_visitor_chat(http, channel_id)
        await operator.answer(chat.chat_id)
        through_quiet = Operator(GraphQLHttp(http_client, quiet.graphql_url), operator.token, id=operator.id)
        async with LiveConnection(deployment.server.ws_url, protocol=TRANSPORT_WS, token=operator.token) as on_a:
            stream = await on_a.subscribe(CHAT_EVENTS, {"chatId": chat.chat_id, "after": "0"})
            sent = []
            for number in range(10):  # every other message through the process without subscribers
                writer = through_quiet if number % 2 else operator
                sent.append((await writer.send(chat.chat_id, f"message {number}"))["id"])
            received = []
            while len(received) < len(sent):  # the replay (queued, answered, ...), then the messages
                event = (await stream.next())["chatEvents"]
                if event["kind"] == "MESSAGE_ADDED" and event["message"]["id"] in sent:
                    received.append((int(event["eventId"]), event["message"]["id"]))
            assert [message for _, message in received] == sent
            assert [event_id for event_id, _ in received] == sorted({event_id for event_id, _ in received})
        # the quiet process published half of them, and received none of the twenty-odd events
        assert await events_received(http_client, quiet) == 0

        # with a subscription of its own it receives them (the count above is not one that stays at 0)
        async with LiveConnection(quiet.ws_url, protocol=TRANSPORT_WS, token=operator.token) as on_quiet:
            stream = await on_quiet.subscribe(CHAT_EVENTS, {"chatId": chat.chat_id, "after": str(received[-1][0])})
            for text in ("through A, to a subscriber on the quiet process", "and one more, surely live"):
                reply = await operator.send(chat.chat_id, text)  # the first may come from the replay
                event = (await stream.next())["chatEvents"]
                assert (event["kind"], event["message"]["id"]) == ("MESSAGE_ADDED", reply["id"])
            assert await events_received(http_client, quiet) >= 1
    finally:
        deployment.stop_server(quiet)
