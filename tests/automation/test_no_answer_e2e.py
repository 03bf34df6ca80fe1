"""The no-answer rule against a real server, over HTTP: the visitor sees their place in the queue, and
the server's own scheduler closes the chat nobody answered, with the channel's message and no rating
request.

No waiting for the timeout itself: the rule's timeout is an hour, and the test moves the chat's stored
due time to the past (what an hour's passing would have done to it); the server's scheduler, which runs
every second, then finds it due."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import datetime, timezone

import asyncpg

from resolvers.ids import decode_id
from tests.e2e.actors import Admin, start_visitor_chat
from tests.e2e.server import Deployment

SETTINGS = "openChannel { noAnswerRule noAnswerTimeoutSeconds noAnswerMessage }"
WAITING = "{ visitorChat { status queuePosition estimatedWaitSeconds } }"
HOUR = 3600
PAST = "2000-01-01 00:00:00+00:00"
PAST_MOMENT = datetime(2000, 1, 1, tzinfo=timezone.utc)


async def _make_due(database_url: str, chat_id: int) -> int:
    """The chat's NO_ANSWER timer due now (its due time moved to the past); how many rows moved."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.split("://", 1)[1], timeout=10, isolation_level=None)
        try:
            return connection.execute("UPDATE timer SET due_at = ? WHERE kind = 'NO_ANSWER' AND chat_id = ?",
                                      (PAST, chat_id)).rowcount
        finally:
            connection.close()
    connection = await asyncpg.connect(database_url)
    try:
        status = await connection.execute(
            "UPDATE timer SET due_at = $1 WHERE kind = 'NO_ANSWER' AND chat_id = $2", PAST_MOMENT, chat_id)
        return int(status.split()[-1])
    finally:
        await connection.close()


async def test_nobody_answers_and_the_server_closes_the_chat_with_the_message(admin: Admin, http,
                                                                              deployment: Deployment):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    updated = await admin.mutate("updateOpenChannel", SETTINGS,
                                 {"openChannelId": channel_id, "noAnswerRule": "CLOSE", "noAnswerTimeoutSeconds": HOUR,
                                  "noAnswerMessage": "Nobody is free right now: please write again later."},
                                 "UpdateOpenChannelInput")
    assert updated["openChannel"] == {"noAnswerRule": "CLOSE", "noAnswerTimeoutSeconds": HOUR,
                                      "noAnswerMessage": "Nobody is free right now: please write again later."}

    first = await start_visitor_chat(http, channel_id, text="Hello?")
    second = await start_visitor_chat(http, channel_id, text="Me too")
    assert (await second.data(WAITING))["visitorChat"] == {
        "status": "QUEUED", "queuePosition": 2, "estimatedWaitSeconds": None}

    own = await first.own_chat()
    assert own["status"] == "QUEUED"
    assert await _make_due(deployment.database_url, decode_id(own["id"], "Chat", ["id"])) == 1

    deadline = time.monotonic() + 30  # the server's scheduler runs every second
    while (await first.own_chat())["status"] != "CLOSED":
        assert time.monotonic() < deadline, "the unanswered chat was never closed"
        await asyncio.sleep(0.2)
    own = await first.own_chat()
    assert [(e["node"]["authorKind"], e["node"]["text"]) for e in own["messages"]["edges"]] == [
        ("CLIENT", "Hello?"), ("SYSTEM", "Nobody is free right now: please write again later.")]
    # the second chat's hour has not passed: it still waits, now first in the queue
    assert (await second.data(WAITING))["visitorChat"]["status"] == "QUEUED"
    assert (await second.data(WAITING))["visitorChat"]["queuePosition"] == 1
