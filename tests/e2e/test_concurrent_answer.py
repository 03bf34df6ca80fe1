"""Twenty operators answer the same chat at the same moment: exactly one takes it."""
from __future__ import annotations

import asyncio

import pytest

from tests.e2e.actors import CHAT_FIELDS, QUEUE_CHANGED, USER_ERRORS, Admin, start_visitor_chat
from tests.e2e.live import TRANSPORT_WS, LiveConnection

pytestmark = pytest.mark.postgres_only

OPERATORS = 20
ANSWER = f"mutation ($input: ChatInput!) {{ answerChat(input: $input) {{ chat {{ {CHAT_FIELDS} }} {USER_ERRORS} }} }}"


async def test_exactly_one_of_twenty_simultaneous_answers_wins(admin: Admin, http, ws_url):
    operators = await asyncio.gather(*(admin.create_operator() for _ in range(OPERATORS)))
    channel_id = await admin.create_open_channel(list(operators), distribution="ALL")
    visitor = await start_visitor_chat(http, channel_id)
    offered = await admin.chat(visitor.chat_id)
    assert sorted(o["id"] for o in offered["offeredTo"]) == sorted(o.id for o in operators)

    bodies = await asyncio.gather(*(operator.call(ANSWER, input={"chatId": visitor.chat_id})
                                    for operator in operators))

    for body in bodies:
        assert not body.get("errors"), body
    payloads = [body["data"]["answerChat"] for body in bodies]
    winners = [(o, p) for o, p in zip(operators, payloads) if p["userErrors"] == []]
    assert len(winners) == 1, payloads
    winner, won = winners[0]
    assert won["chat"]["status"] == "ACTIVE" and won["chat"]["operator"] == {"id": winner.id}
    losers = [p for p in payloads if p is not won]
    assert len(losers) == OPERATORS - 1
    for lost in losers:
        assert lost["chat"] is None
        assert [e["code"] for e in lost["userErrors"]] == ["ALREADY_TAKEN"], lost

    chat = await admin.chat(visitor.chat_id)
    assert chat["status"] == "ACTIVE"
    assert chat["operator"] == {"id": winner.id}
    assert chat["offeredTo"] == []
    assert [p["id"] for p in chat["participants"]] == [winner.id]

    # the whole queue history, replayed from the start and closed by a last known event
    await winner.finish(visitor.chat_id)
    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=admin.token) as connection:
        queue = await connection.subscribe(QUEUE_CHANGED, {"ids": [channel_id], "after": "0"})
        kinds = [(await queue.next())["queueChanged"]["kind"]]
        while kinds[-1] != "CHAT_FINISHED":
            kinds.append((await queue.next())["queueChanged"]["kind"])
    assert kinds == ["CHAT_QUEUED", "CHAT_OFFERED", "CHAT_ANSWERED", "CHAT_FINISHED"]
