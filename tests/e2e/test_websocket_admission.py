"""Who may keep a WebSocket open (openchannels/websocket_admission.py), on a real server: at most
WS_MAX_CONNECTIONS_PER_IP per client address (the one over it is closed with 1013, the others
keep working), the address taken by TRUSTED_PROXY_HOPS' rule, and an anonymous connection that
runs nothing is closed after WS_ANONYMOUS_IDLE_SECONDS while one with a token stays.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
import pytest_asyncio

from tests.e2e.live import LEGACY_WS, PROTOCOLS, TRANSPORT_WS, LiveClosed, LiveConnection
from tests.e2e.server import Deployment, ServerProcess

DEFAULT_CAP = 50
IDLE_SECONDS = 0.5


@pytest_asyncio.fixture(scope="module")
async def default_server(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    """A server of its own with the default limits (no other test's connection counts there)."""
    server = await deployment.start_server()
    try:
        yield server
    finally:
        deployment.stop_server(server)


async def answers_a_query(connection: LiveConnection) -> None:
    operation = await connection.subscribe("{ __typename }")
    assert await operation.next() == {"__typename": "Query"}


async def test_the_51st_anonymous_websocket_from_one_address_is_closed_with_1013(default_server: ServerProcess):
    async with AsyncExitStack() as stack:
        kept = [await stack.enter_async_context(LiveConnection(default_server.ws_url, protocol=PROTOCOLS[n % 2]))
                for n in range(DEFAULT_CAP)]

        for protocol in PROTOCOLS:
            with pytest.raises(LiveClosed) as refused:
                await LiveConnection(default_server.ws_url, protocol=protocol).open()
            assert refused.value.code == 1013 and "Too many connections" in refused.value.reason

        await answers_a_query(kept[0])
        await answers_a_query(kept[-1])
        await kept[0].close()
        async with LiveConnection(default_server.ws_url, protocol=LEGACY_WS) as again:  # a place is free again
            await answers_a_query(again)


async def test_addresses_behind_a_trusted_proxy_are_counted_apart(deployment: Deployment):
    server = await deployment.start_server({"TRUSTED_PROXY_HOPS": "1", "WS_MAX_CONNECTIONS_PER_IP": "1"})
    try:
        def from_address(ip: str) -> LiveConnection:
            return LiveConnection(server.ws_url, protocol=TRANSPORT_WS, headers={"X-Forwarded-For": ip})

        async with from_address("203.0.113.1") as first, from_address("203.0.113.2") as second:
            with pytest.raises(LiveClosed) as refused:
                await from_address("203.0.113.1").open()
            assert refused.value.code == 1013
            await answers_a_query(first)
            await answers_a_query(second)
    finally:
        deployment.stop_server(server)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_idle_anonymous_websocket_is_closed_and_one_with_a_token_is_kept(deployment: Deployment,
                                                                                 protocol: str):
    server = await deployment.start_server({"WS_ANONYMOUS_IDLE_SECONDS": str(IDLE_SECONDS)})
    try:
        async with LiveConnection(server.ws_url, protocol=protocol, token=deployment.admin_token) as operator, \
                LiveConnection(server.ws_url, protocol=protocol) as anonymous:
            await answers_a_query(anonymous)  # an operation: the idle time starts again after it

            code, reason = await anonymous.wait_closed(timeout=IDLE_SECONDS * 10)
            assert code == 1000 and "without an operation" in reason

            # the operator's connection has run nothing for longer still (since its connection_init)
            await answers_a_query(operator)
    finally:
        deployment.stop_server(server)
