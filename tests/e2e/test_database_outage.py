"""PostgreSQL briefly unreachable (a TCP proxy between the server and PostgreSQL is cut, then
restored; the shared PostgreSQL itself is never touched).

While it is cut: /readyz answers 503 naming the database, /healthz stays 200, and GraphQL
requests fail cleanly — a SERVICE_UNAVAILABLE error, no stack trace, nothing half-written.
Once it is restored the same server process serves again, without a restart.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.e2e.actors import USER_ERRORS, Actor, Admin, GraphQLHttp, error_codes, start_visitor_chat, unique
from tests.e2e.live import PROTOCOLS, LiveClosed, LiveConnection
from tests.e2e.outages import TcpProxy, primary_key, readiness, wait_for_readiness
from tests.e2e.server import Deployment, prepare

pytestmark = pytest.mark.postgres_only

START_CHAT = f"""mutation ($input: StartVisitorChatInput!) {{
  startVisitorChat(input: $input) {{ visitorToken chat {{ id }} {USER_ERRORS} }}
}}"""


@pytest_asyncio.fixture
async def proxied(tmp_path_factory) -> AsyncIterator[tuple[Deployment, TcpProxy]]:
    """A postgres deployment whose server reaches PostgreSQL only through `TcpProxy`."""
    deployment = await prepare("postgres", tmp_path_factory.mktemp("database-outage"))
    try:
        parts = urlsplit(deployment.database_url)
        proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        await proxy.start()
        try:
            deployment.stop_server(deployment.server)
            netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
            deployment.database_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
            await deployment.start_server()
            yield deployment, proxy
        finally:
            await proxy.close()
    finally:
        await deployment.close()


async def test_a_database_outage_gives_clean_errors_and_the_same_process_recovers(proxied):
    deployment, proxy = proxied
    server = deployment.server
    direct_url = deployment.database_url.replace(f":{proxy.port}/", f":{proxy.target[1]}/")
    async with httpx.AsyncClient(timeout=httpx.Timeout(20)) as client:
        http = GraphQLHttp(client, server.graphql_url)
        admin = Admin(http, deployment.admin_token)
        operator = await admin.create_operator()
        channel = await admin.create_open_channel([operator])
        assert await readiness(server, client) == (200, {"status": "ok", "database": "ok", "broker": "ok"})

        await proxy.cut()
        assert await wait_for_readiness(server, client, 503) == {
            "status": "unavailable", "database": "unavailable", "broker": "ok"}
        assert (await client.get(f"{server.base_url}/healthz")).status_code == 200  # alive: no restart wanted

        # an authenticated query (the token is checked in the database) and an anonymous mutation
        for token, query, variables in (
            (operator.token, "{ me { operator { id } } }", {}),
            (None, START_CHAT, {"input": {"openChannelId": channel, "name": unique("Guest"), "text": "hello?"}}),
        ):
            answer = await client.post(server.graphql_url, json={"query": query, "variables": variables},
                                       headers={"Authorization": f"Bearer {token}"} if token else {})
            assert answer.status_code in (200, 503), answer.text
            body = answer.json()
            assert error_codes(body) == ["SERVICE_UNAVAILABLE"], body
            assert "Traceback" not in answer.text and "asyncpg" not in answer.text and "Error(" not in answer.text
            assert not (body.get("data") or {}).get("startVisitorChat")

        # a WebSocket opened now cannot have its token checked: "try again later" (1013), not 4403
        for protocol in PROTOCOLS:
            with pytest.raises(LiveClosed) as closed:
                await LiveConnection(server.ws_url, protocol=protocol, token=operator.token).open()
            assert (closed.value.code, closed.value.reason) == (1013, "The database is unavailable: try again shortly")

        await proxy.restore()
        # the very first request after the restoration succeeds: broken pooled connections are replaced
        me = await Actor(http, operator.token).data("{ me { operator { id } } }")
        assert me["me"]["operator"]["id"] == operator.id
        assert await readiness(server, client) == (200, {"status": "ok", "database": "ok", "broker": "ok"})
        assert server.process.poll() is None  # the same process
        visitor = await start_visitor_chat(http, channel, text="hello again")
        await operator.answer(visitor.chat_id)
        assert (await visitor.own_chat())["status"] == "ACTIVE"
        # nothing of the refused start was written: the channel has only the chat started after
        direct = await asyncpg.connect(direct_url, timeout=10)
        try:
            chats = await direct.fetch("SELECT id FROM chat")
        finally:
            await direct.close()
        assert {row["id"] for row in chats} == {primary_key(visitor.chat_id)}
