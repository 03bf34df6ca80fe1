"""A server process killed (SIGKILL) during a burst of mutations.

Afterwards the database holds no half-done transition: every chat's state agrees with its
events, every message has its MESSAGE_ADDED event and every such event its message (the
transaction of a request cut short rolled back as a whole). A client that was subscribed to
the killed process reconnects to another one (on sqlite: the restarted server) with `after`
and receives exactly the events it missed, in order, then live ones.
"""
from __future__ import annotations

import asyncio
import base64
import signal
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.e2e.actors import CHAT_EVENTS, QUEUE_CHANGED, USER_ERRORS, Actor, Admin, GraphQLHttp, start_visitor_chat
from tests.e2e.live import TRANSPORT_WS, LiveClosed, LiveConnection, LiveSubscription
from tests.e2e.outages import primary_key
from tests.e2e.server import Deployment, prepare

CHATS = 6
#: the burst's requests that must have been answered before the kill (the rest are in flight or queued)
ANSWERED_BEFORE_KILL = 12


@pytest_asyncio.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
async def kill_deployment(request: pytest.FixtureRequest, tmp_path_factory) -> AsyncIterator[Deployment]:
    """Its own deployment (a process of it gets killed): on postgres two processes and Redis."""
    deployment = await prepare(request.param, tmp_path_factory.mktemp(f"kill-{request.param}"))
    try:
        if request.param == "postgres":
            await deployment.start_server()
        yield deployment
    finally:
        await deployment.close()


async def query(deployment: Deployment, sql: str) -> list[dict[str, Any]]:
    """Read the database directly (ground truth, not through the API)."""
    if deployment.backend == "sqlite":
        with sqlite3.connect(deployment.database_url.removeprefix("sqlite://")) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(sql)]
    connection = await asyncpg.connect(deployment.database_url, timeout=10)
    try:
        return [dict(row) for row in await connection.fetch(sql)]
    finally:
        await connection.close()


async def mutation(http: GraphQLHttp, token: str | None, field: str, input_type: str, input: dict) -> Any:
    return await Actor(http, token).call(
        f"mutation ($input: {input_type}!) {{ {field}(input: $input) {{ {USER_ERRORS} }} }}", input=input)


async def drain(subscription: LiveSubscription, key: str) -> list[dict[str, Any]]:
    """Every event received until the connection closed (the process was killed)."""
    received = []
    while True:
        try:
            received.append((await subscription.next(timeout=10))[key])
        except LiveClosed:
            return received


async def assert_no_half_done_transition(deployment: Deployment, channel_id: int) -> None:
    chats = await query(deployment, f"SELECT id, status, operator_id, closed_at FROM chat "
                                    f"WHERE open_channel_id = {channel_id}")
    assert len(chats) >= CHATS  # a visitor writing after their chat was finished starts a new one
    for chat in chats:
        kinds = {row["kind"] for row in await query(deployment, f"SELECT kind FROM event WHERE chat_id = {chat['id']}")}
        answered, finished = "CHAT_ANSWERED" in kinds, "CHAT_FINISHED" in kinds
        expected = "CLOSED" if finished else "ACTIVE" if answered else "QUEUED"
        assert (chat["status"], chat["operator_id"] is not None, chat["closed_at"] is not None) == (
            expected, answered, finished), (chat, kinds)
        messages = {row["id"] for row in await query(
            deployment, f"SELECT id FROM message WHERE chat_id = {chat['id']}")}
        announced = [row["message_id"] for row in await query(
            deployment, f"SELECT message_id FROM event WHERE chat_id = {chat['id']} AND kind = 'MESSAGE_ADDED'")]
        assert sorted(announced) == sorted(messages), chat  # one event per message, no event without it


async def test_a_process_killed_mid_burst_leaves_no_half_done_change_and_clients_resume_elsewhere(kill_deployment):
    deployment = kill_deployment
    victim = deployment.servers[0]
    async with httpx.AsyncClient(timeout=httpx.Timeout(20), limits=httpx.Limits(max_connections=100)) as client:
        http = GraphQLHttp(client, victim.graphql_url)
        admin = Admin(http, deployment.admin_token)
        operator = await admin.create_operator()
        channel = await admin.create_open_channel([operator])
        visitors = [await start_visitor_chat(http, channel) for _ in range(CHATS)]
        watched = visitors[0].chat_id
        await operator.answer(watched)

        async with LiveConnection(victim.ws_url, protocol=TRANSPORT_WS, token=operator.token) as live:
            queue = await live.subscribe(QUEUE_CHANGED, {"ids": [channel], "after": "0"})
            chat = await live.subscribe(CHAT_EVENTS, {"chatId": watched, "after": "0"})
            # both replays reached the answer of the watched chat: the subscriptions are live
            queue_before = [(await queue.next())["queueChanged"]]
            while (queue_before[-1]["kind"], queue_before[-1]["chat"]["id"]) != ("CHAT_ANSWERED", watched):
                queue_before.append((await queue.next())["queueChanged"])
            chat_before = [(await chat.next())["chatEvents"]]
            while chat_before[-1]["chat"]["status"] != "ACTIVE":
                chat_before.append((await chat.next())["chatEvents"])
            burst = []
            for round_ in range(4):
                for number, visitor in enumerate(visitors):
                    burst.append(mutation(http, visitor.token, "sendVisitorMessage", "SendVisitorMessageInput",
                                          {"text": f"visitor {number} round {round_}"}))
                    burst.append(mutation(http, operator.token, "sendMessage", "SendMessageInput",
                                          {"chatId": visitor.chat_id, "text": f"operator {number} round {round_}"}))
                    if round_ == 1 and number % 2 == 0:
                        burst.append(mutation(http, operator.token, "answerChat", "ChatInput",
                                              {"chatId": visitor.chat_id}))
                    if round_ == 2 and number % 4 == 1:
                        burst.append(mutation(http, operator.token, "finishChat", "ChatInput",
                                              {"chatId": visitor.chat_id}))
            tasks = [asyncio.ensure_future(call) for call in burst]
            while sum(task.done() for task in tasks) < ANSWERED_BEFORE_KILL:
                await asyncio.wait(tasks, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            victim.process.send_signal(signal.SIGKILL)
            results = await asyncio.gather(*tasks, return_exceptions=True)
            cut_short = [r for r in results if isinstance(r, Exception)]
            assert cut_short, "the kill came after the whole burst: nothing was tested"
            assert all(isinstance(r, httpx.TransportError) for r in cut_short), cut_short
            queue_seen = queue_before + await drain(queue, "queueChanged")
            chat_seen = chat_before + await drain(chat, "chatEvents")
        victim.process.wait(timeout=10)
        deployment.servers.remove(victim)

        if not deployment.servers:  # sqlite: one process; the client reconnects to its replacement
            await deployment.start_server()
        other = deployment.servers[0]
        await assert_no_half_done_transition(deployment, primary_key(channel))
        # the chats go on through the other process while the client is away
        on_other = GraphQLHttp(client, other.graphql_url)
        for text in ("while you reconnect", "still there?"):
            body = await mutation(on_other, visitors[0].token, "sendVisitorMessage", "SendVisitorMessageInput",
                                  {"text": text})
            assert body["data"]["sendVisitorMessage"]["userErrors"] == []
        queued = await query(deployment, f"SELECT id FROM chat WHERE open_channel_id = {primary_key(channel)} "
                                         f"AND status = 'QUEUED' ORDER BY id LIMIT 1")
        if queued:
            body = await mutation(on_other, operator.token, "answerChat", "ChatInput",
                                  {"chatId": base64.urlsafe_b64encode(f"Chat:{queued[0]['id']}".encode())
                                   .decode().rstrip("=")})
            assert body["data"]["answerChat"]["userErrors"] == []

        last_queue = queue_seen[-1]["eventId"]
        last_chat = chat_seen[-1]["eventId"]
        missed_queue = [row["id"] for row in await query(
            deployment, f"SELECT id FROM event WHERE queue_kind IS NOT NULL "
                        f"AND open_channel_id = {primary_key(channel)} AND id > {last_queue} ORDER BY id")]
        missed_chat = [row["id"] for row in await query(
            deployment, f"SELECT id FROM event WHERE chat_kind IS NOT NULL AND chat_id = {primary_key(watched)} "
                        f"AND id > {last_chat} ORDER BY id")]

        assert len(missed_chat) >= 2 and (missed_queue or not queued)
        async with LiveConnection(other.ws_url, protocol=TRANSPORT_WS, token=operator.token) as resumed:
            queue = await resumed.subscribe(QUEUE_CHANGED, {"ids": [channel], "after": last_queue})
            chat = await resumed.subscribe(CHAT_EVENTS, {"chatId": watched, "after": last_chat})
            replayed_queue = [int((await queue.next())["queueChanged"]["eventId"]) for _ in missed_queue]
            replayed_chat = [int((await chat.next())["chatEvents"]["eventId"]) for _ in missed_chat]
            assert replayed_queue == missed_queue
            assert replayed_chat == missed_chat

            # then live, through the surviving process: the next event is the new one
            body = await mutation(on_other, visitors[0].token, "sendVisitorMessage", "SendVisitorMessageInput",
                                  {"text": "after the crash"})
            assert body["data"]["sendVisitorMessage"]["userErrors"] == []
            event = (await chat.next())["chatEvents"]
            assert event["message"]["text"] == "after the crash"
            assert int(event["eventId"]) > max([int(last_chat), *missed_chat])
