"""The wallboard over real WebSockets against a real server (both subprotocols): the first message is
the current figures, a visitor's chat and an operator's answer reach every watcher, never two
messages of a queue within a second, and a channel the caller may not watch is refused."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.actors import Admin, start_visitor_chat
from tests.e2e.live import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, LiveConnection, LiveError, LiveSubscription

WALLBOARD = """subscription ($c: [ID!]) {
  wallboard(openChannelIds: $c) {
    openChannel { id name } queued longestWaitSeconds active operatorsOnline operatorsAway slaBreached at
  }
}"""


async def until(subscription: LiveSubscription, condition, seen: list[dict]) -> dict:
    """The figures of the next message that meets `condition` (each message is kept in `seen`)."""
    while True:
        (board,) = (await subscription.next())["wallboard"]
        seen.append(board)
        if condition(board):
            return board


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_two_watchers_follow_a_queue_live(admin: Admin, ws_url: str, http, protocol: str):
    ann = await admin.create_operator()
    away = await admin.create_operator(status="AWAY")
    supervisor = await admin.create_operator(role="SUPERVISOR", status="OFFLINE")
    channel = await admin.create_open_channel([ann, away])
    other = LEGACY_WS if protocol == TRANSPORT_WS else TRANSPORT_WS
    async with LiveConnection(ws_url, protocol=protocol, token=supervisor.token) as watching, \
            LiveConnection(ws_url, protocol=other, token=ann.token) as member:
        boards = [await watching.subscribe(WALLBOARD, {"c": [channel]}), await member.subscribe(WALLBOARD, {"c": [channel]})]
        seen: list[list[dict]] = [[], []]
        for board, log in zip(boards, seen):
            first = await until(board, lambda b: True, log)
            assert first["openChannel"]["id"] == channel
            assert {k: first[k] for k in ("queued", "longestWaitSeconds", "active", "operatorsOnline",
                                          "operatorsAway", "slaBreached")} == {
                "queued": 0, "longestWaitSeconds": 0, "active": 0, "operatorsOnline": 1, "operatorsAway": 1,
                "slaBreached": 0}

        visitors = [await start_visitor_chat(http, channel) for _ in range(3)]
        for board, log in zip(boards, seen):
            assert (await until(board, lambda b: b["queued"] == 3, log))["active"] == 0
        await ann.answer(visitors[0].chat_id)
        for board, log in zip(boards, seen):
            await until(board, lambda b: b["queued"] == 2 and b["active"] == 1, log)

    for log in seen:  # at most one message a second for the queue
        moments = [datetime.fromisoformat(b["at"]) for b in log]
        assert all((later - earlier).total_seconds() >= 0.99 for earlier, later in zip(moments, moments[1:])), moments


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_operator_may_watch_only_their_queues(admin: Admin, ws_url: str, protocol: str):
    ann = await admin.create_operator()
    stranger = await admin.create_operator()
    channel = await admin.create_open_channel([ann])
    async with LiveConnection(ws_url, protocol=protocol, token=stranger.token) as connection:
        refused = await connection.subscribe(WALLBOARD, {"c": [channel]})
        with pytest.raises(LiveError) as error:
            await refused.next()
    assert error.value.codes == ["NOT_FOUND"]
