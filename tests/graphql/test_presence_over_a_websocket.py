"""Presence from a real WebSocket (issue #16): when an operator's last socket closes and does not
come back within PRESENCE_GRACE_SECONDS, they become AWAY and their pending offer passes on, as on
setStatus(AWAY); while one socket is still open, nothing happens however long.

The application serves on a loopback port in the test's own process (uvicorn, the test's database
and broker, the presence the lifespan would make), so the services' clock is the test's: nothing
waits for the grace time, the test moves the clock and runs the scheduler's tick itself."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
from starlette.routing import WebSocketRoute

from infrastructure.settings import Settings
from models import Operator, OperatorStatus, QueueDistribution
from openchannels.app import create_app
from services.automation import scheduler
from services.chats import presence
from services.chats.presence import PresenceTimes
from services.chats.server_presence import ServerPresence
from services.identity import auth
from tests.automation.receivers import LocalServer
from tests.e2e.live import LEGACY_WS, TRANSPORT_WS, LiveConnection
from tests.factories import offered_to, queued_chat, viewer_of

TIMES = PresenceTimes(grace_seconds=60, heartbeat_seconds=10, process_expiry_seconds=30)


@pytest_asyncio.fixture
async def served(db, database_url, platform) -> AsyncIterator[tuple[str, ServerPresence]]:
    """The app on a free loopback port (its WebSocket URL) and its process's presence."""
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0), platform)
    graphql = next(route.endpoint for route in app.routes if isinstance(route, WebSocketRoute))
    process = ServerPresence(TIMES, "the-test-process")
    await process.start()
    graphql.presence = process  # what the lifespan does (it runs without one here: the test's database)
    server = LocalServer(app)
    await server.start()
    try:
        yield server.url.replace("http://", "ws://") + "/graphql", process
    finally:
        await server.stop()


async def connected(operator_id: int) -> bool:
    viewer = viewer_of(await Operator.get(id=operator_id))
    return (await presence.presence_of(viewer, [operator_id]))[operator_id].connected


async def until_not_connected(operator_id: int) -> None:
    """The server writes a close when the socket's handler ends, just after the client closed it."""
    async with asyncio.timeout(10):
        while await connected(operator_id):
            await asyncio.sleep(0.02)


async def sweep(process: ServerPresence, clock, seconds: float) -> None:
    """`seconds` pass: the process beats (it lives on) and the scheduler's tick sweeps."""
    clock.advance(seconds)
    await process.beat()
    await scheduler.tick(presence=TIMES)


async def test_the_last_socket_closes_and_after_the_grace_time_the_pending_offer_passes_on(served, clock):
    ws_url, process = served
    _, [(a, _), (b, _)], chat, _ = await queued_chat(QueueDistribution.STRICT, answer_timeout_seconds=600)
    assert await offered_to(chat.id) == {a.id}
    token = await auth.issue_token(a.id)

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=token):
        assert await connected(a.id)  # counted before the connection_ack
        async with LiveConnection(ws_url, protocol=LEGACY_WS, token=token):  # a second tab comes and goes
            pass
        await sweep(process, clock, 120)  # one socket still open: however long, they are there
        assert (await Operator.get(id=a.id)).status == OperatorStatus.ONLINE
        assert await offered_to(chat.id) == {a.id}
    await until_not_connected(a.id)
    left_at = clock.now
    assert (await Operator.get(id=a.id)).last_seen_at == left_at

    await sweep(process, clock, 59)  # within the grace time: the offer is still theirs
    assert (await Operator.get(id=a.id)).status == OperatorStatus.ONLINE and await offered_to(chat.id) == {a.id}

    await sweep(process, clock, 1)  # the grace time is over: AWAY, and the offer passes on
    stored = await Operator.get(id=a.id)
    assert (stored.status, stored.away_by_presence) == (OperatorStatus.AWAY, True)
    assert await offered_to(chat.id) == {b.id}

    async with LiveConnection(ws_url, protocol=TRANSPORT_WS, token=token):  # back: ONLINE again (made AWAY by the rule)
        assert (await Operator.get(id=a.id)).status == OperatorStatus.ONLINE
