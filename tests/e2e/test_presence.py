"""Presence over real WebSockets against a real server: an operator's open WebSocket makes them
`connected` for a colleague, closing it sets `lastSeenAt`, `operatorsChanged` delivers both and
replays them with `after`; a killed process's operator is not connected after its expiry."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.actors import Admin, GraphQLHttp, Operator
from tests.e2e.live import LEGACY_WS, TRANSPORT_WS, LiveConnection, LiveError, LiveSubscription
from tests.e2e.server import Deployment, ServerProcess

PRESENCE = "{ presence { id name connected lastSeenAt status } }"
OPERATORS_CHANGED = """
subscription ($after: String) {
  operatorsChanged(after: $after) { eventId operator { id connected } status connected occurredAt }
}"""
#: the killed process's heartbeat and expiry (seconds): small, so the test waits about a second
HEARTBEAT, EXPIRY = "0.2", "1"


async def presence_of(viewer: Operator, operator: Operator) -> dict[str, Any]:
    found = [o for o in (await viewer.data(PRESENCE))["presence"] if o["id"] == operator.id]
    assert len(found) == 1, f"{operator.id} not in the presence of {viewer.id}"
    return found[0]


async def next_about(subscription: LiveSubscription, operator: Operator) -> dict[str, Any]:
    """The next event of the subscription about this operator (others' presence changes too meanwhile)."""
    while True:
        event = (await subscription.next())["operatorsChanged"]
        if event["operator"]["id"] == operator.id:
            return event


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_colleague_sees_an_operator_connect_and_leave(admin: Admin, ws_url: str, protocol: str):
    a = await admin.create_operator()
    colleague = await admin.create_operator()
    stranger = await admin.create_operator()
    await admin.create_open_channel([a, colleague])
    await admin.create_open_channel([stranger])
    assert (await presence_of(colleague, a))["connected"] is False
    assert a.id not in {o["id"] for o in (await stranger.data(PRESENCE))["presence"]}  # not of their queues

    async with LiveConnection(ws_url, token=colleague.token) as watching:
        # from the start of the log: the event of A's creation (ONLINE, not connected) comes first, and
        # once a replayed event arrives the subscription is live (it subscribes to the broker first)
        changes = await watching.subscribe(OPERATORS_CHANGED, {"after": "0"})
        created = await next_about(changes, a)
        assert (created["status"], created["connected"]) == ("ONLINE", False)
        async with LiveConnection(ws_url, protocol=protocol, token=a.token):
            seen = await presence_of(colleague, a)  # acknowledged: already counted
            assert (seen["connected"], seen["lastSeenAt"], seen["status"]) == (True, None, "ONLINE")
            opened = await next_about(changes, a)
            assert (opened["connected"], opened["status"], opened["operator"]["connected"]) == (True, "ONLINE", True)
        closed = await next_about(changes, a)
        assert (closed["connected"], closed["status"]) == (False, "ONLINE")
        seen = await presence_of(colleague, a)
        assert seen["connected"] is False and seen["lastSeenAt"] is not None

    # a subscriber who missed them gets both again with `after`
    after = str(int(opened["eventId"]) - 1)
    async with LiveConnection(ws_url, token=colleague.token) as resumed:
        replay = await resumed.subscribe(OPERATORS_CHANGED, {"after": after})
        assert [(e["eventId"], e["connected"]) for e in [await next_about(replay, a), await next_about(replay, a)]] \
            == [(opened["eventId"], True), (closed["eventId"], False)]


async def test_presence_is_for_operators(http: GraphQLHttp, ws_url: str):
    body = await http.post("{ presence { id } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with LiveConnection(ws_url) as anonymous:
        refused = await anonymous.subscribe(OPERATORS_CHANGED)
        with pytest.raises(LiveError) as raised:
            await refused.next()
        assert raised.value.codes == ["UNAUTHENTICATED"]


@pytest_asyncio.fixture
async def short_lived(deployment: Deployment) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two more server processes with a fast heartbeat and a short expiry: one the test kills, one whose
    scheduler sweeps (every process sweeps with its own settings: a deployment sets them alike)."""
    env = {"PRESENCE_HEARTBEAT_SECONDS": HEARTBEAT, "PRESENCE_PROCESS_EXPIRY_SECONDS": EXPIRY}
    started = [await deployment.start_server(env=env)]
    try:
        started.append(await deployment.start_server(env=env))
        yield started[0], started[1]
    finally:
        for server in started:
            deployment.stop_server(server)


@pytest.mark.postgres_only
async def test_a_killed_process_leaves_its_operator_not_connected_after_its_expiry(
        admin: Admin, http_client, short_lived: tuple[ServerProcess, ServerProcess]):
    doomed, sweeper = short_lived
    a = await admin.create_operator()
    colleague = await admin.create_operator()
    await admin.create_open_channel([a, colleague])
    colleague = Operator(GraphQLHttp(http_client, sweeper.graphql_url), colleague.token, id=colleague.id)
    connection = await LiveConnection(doomed.ws_url, token=a.token).open()
    try:
        assert (await presence_of(colleague, a))["connected"] is True  # asked of another process
        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(timeout=10)
        killed_at = time.monotonic()
        # the sweeper's scheduler (every second) removes its connections once its heartbeat is EXPIRY old
        deadline = killed_at + float(EXPIRY) + 10
        while (await presence_of(colleague, a))["connected"]:
            assert time.monotonic() < deadline, "the killed process's operator is still connected"
            await asyncio.sleep(0.1)  # polling the API: the expiry is real time in other processes
        assert time.monotonic() - killed_at >= float(EXPIRY) - float(HEARTBEAT) - 0.1  # not before its expiry
        assert (await presence_of(colleague, a))["lastSeenAt"] is not None
    finally:
        await connection.close()
