"""The no-answer rule against a real server, over HTTP: the visitor sees their place in the queue, and
the server's own scheduler closes the chat nobody answered, with the channel's message and no rating
request."""
from __future__ import annotations

import asyncio
import time

from tests.e2e.actors import Admin, start_visitor_chat

SETTINGS = "openChannel { noAnswerRule noAnswerTimeoutSeconds noAnswerMessage }"
WAITING = "{ visitorChat { status queuePosition estimatedWaitSeconds } }"


async def test_nobody_answers_and_the_server_closes_the_chat_with_the_message(admin: Admin, http):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    updated = await admin.mutate("updateOpenChannel", SETTINGS,
                                 {"openChannelId": channel_id, "noAnswerRule": "CLOSE", "noAnswerTimeoutSeconds": 5,
                                  "noAnswerMessage": "Nobody is free right now: please write again later."},
                                 "UpdateOpenChannelInput")
    assert updated["openChannel"] == {"noAnswerRule": "CLOSE", "noAnswerTimeoutSeconds": 5,
                                      "noAnswerMessage": "Nobody is free right now: please write again later."}

    first = await start_visitor_chat(http, channel_id, text="Hello?")
    second = await start_visitor_chat(http, channel_id, text="Me too")
    assert (await second.data(WAITING))["visitorChat"] == {
        "status": "QUEUED", "queuePosition": 2, "estimatedWaitSeconds": None}

    deadline = time.monotonic() + 30  # the server's scheduler runs every second
    while (await first.own_chat())["status"] != "CLOSED":
        assert time.monotonic() < deadline, "the unanswered chat was never closed"
        await asyncio.sleep(0.2)
    own = await first.own_chat()
    assert [(e["node"]["authorKind"], e["node"]["text"]) for e in own["messages"]["edges"]] == [
        ("CLIENT", "Hello?"), ("SYSTEM", "Nobody is free right now: please write again later.")]
