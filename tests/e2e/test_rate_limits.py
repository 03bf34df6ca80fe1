"""Rate limits on real servers: `login` and `startVisitorChat` per client IP, requests per
visitor token, `Retry-After`, nothing changed by a refused call, X-Forwarded-For trusted only
when TRUSTED_PROXY_HOPS says so, and (PostgreSQL + Redis) two processes sharing one budget.

The shared e2e server runs with the limits off (tests/e2e/server.py); each server here is
started with limits of its own and a Redis key prefix of its own.
"""
from __future__ import annotations

import itertools
import sqlite3
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.e2e.actors import USER_ERRORS, Admin, error_codes, start_visitor_chat, unique
from tests.e2e.live import PROTOCOLS, LiveClosed, LiveConnection
from tests.e2e.outages import RedisServer
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, Deployment, ServerProcess

LOGIN = f"mutation ($input: LoginInput!) {{ login(input: $input) {{ token operator {{ id }} {USER_ERRORS} }} }}"
START = (f"mutation ($input: StartVisitorChatInput!) {{ startVisitorChat(input: $input) "
         f"{{ visitorToken chat {{ id }} {USER_ERRORS} }} }}")
SEND = (f"mutation ($input: SendVisitorMessageInput!) {{ sendVisitorMessage(input: $input) "
        f"{{ message {{ id }} {USER_ERRORS} }} }}")
VISITOR_CHAT = "{ visitorChat { id } }"

LIMITS = {"RATE_LIMIT_LOGIN_PER_MINUTE": "3", "RATE_LIMIT_START_VISITOR_CHAT_PER_MINUTE": "3",
          "RATE_LIMIT_VISITOR_TOKEN_PER_MINUTE": "5"}
_addresses = itertools.count(1)


def new_ip() -> str:
    """A client address of this test's own (sent as X-Forwarded-For through a trusted proxy)."""
    n = next(_addresses)
    return f"198.51.{100 + n // 250}.{n % 250 + 1}"


def own_counters(deployment: Deployment) -> str:
    """A RATE_LIMIT_REDIS_PREFIX of a server's own, under the deployment's prefix (deleted with it)."""
    return f"{deployment.redis_prefix}:rate-{uuid.uuid4().hex}"


async def count_rows(deployment: Deployment, table: str) -> int:
    """Rows of a table, read straight from the database (not through the API)."""
    url = deployment.database_url
    if url.startswith("sqlite://"):
        with sqlite3.connect(f"file:{url.removeprefix('sqlite://')}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        return await connection.fetchval(f'SELECT count(*) FROM "{table}"')
    finally:
        await connection.close()


async def post(client: httpx.AsyncClient, server: ServerProcess, query: str, variables: dict[str, Any],
               *, ip: str | None = None, token: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": ip} if ip else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = await client.post(server.graphql_url, json={"query": query, "variables": variables}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


def limit_exceeded(answer: httpx.Response, field: str) -> int:
    """Assert the mutation was refused with LIMIT_EXCEEDED and a Retry-After; return its seconds."""
    payload = answer.json()["data"][field]
    assert [e["code"] for e in payload["userErrors"]] == ["LIMIT_EXCEEDED"], payload
    retry_after = int(answer.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert f"try again in {retry_after} seconds" in payload["userErrors"][0]["message"]
    return retry_after


@pytest_asyncio.fixture(scope="module")
async def behind_proxy(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    """A server with small limits behind one trusted proxy: each test uses client addresses of its own."""
    server = await deployment.start_server({**LIMITS, "TRUSTED_PROXY_HOPS": "1",
                                            "RATE_LIMIT_REDIS_PREFIX": own_counters(deployment)})
    try:
        yield server
    finally:
        deployment.stop_server(server)


async def test_login_over_the_limit_is_refused_with_retry_after_and_issues_no_token(
        deployment: Deployment, behind_proxy: ServerProcess, http_client: httpx.AsyncClient):
    ip = new_ip()
    credentials = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    wrong = {"email": ADMIN_EMAIL, "password": "not-the-password"}
    for attempt in (wrong, wrong, credentials):  # failed attempts count too: that is the point
        answer = await post(http_client, behind_proxy, LOGIN, {"input": attempt}, ip=ip)
        assert "Retry-After" not in answer.headers
    assert answer.json()["data"]["login"]["token"].startswith("oc_")
    tokens = await count_rows(deployment, "api_token")

    refused = await post(http_client, behind_proxy, LOGIN, {"input": credentials}, ip=ip)

    limit_exceeded(refused, "login")
    assert refused.json()["data"]["login"]["token"] is None
    assert await count_rows(deployment, "api_token") == tokens
    # another address has a budget of its own
    other = await post(http_client, behind_proxy, LOGIN, {"input": credentials}, ip=new_ip())
    assert other.json()["data"]["login"]["userErrors"] == []


async def test_start_visitor_chat_over_the_limit_creates_nothing(
        deployment: Deployment, admin: Admin, behind_proxy: ServerProcess, http_client: httpx.AsyncClient):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    ip = new_ip()
    for i in range(3):
        answer = await post(http_client, behind_proxy, START,
                            {"input": {"openChannelId": channel_id, "name": unique("Guest"), "text": f"hi {i}"}}, ip=ip)
        assert answer.json()["data"]["startVisitorChat"]["userErrors"] == []
    before = {table: await count_rows(deployment, table) for table in ("chat", "client", "visitor_session", "message")}

    refused = await post(http_client, behind_proxy, START,
                         {"input": {"openChannelId": channel_id, "name": unique("Guest"), "text": "one too many"}},
                         ip=ip)

    retry_after = limit_exceeded(refused, "startVisitorChat")
    assert refused.json()["data"]["startVisitorChat"] | {"userErrors": None} == {
        "visitorToken": None, "chat": None, "userErrors": None}
    assert {table: await count_rows(deployment, table) for table in before} == before
    again = await post(http_client, behind_proxy, START,
                       {"input": {"openChannelId": channel_id, "name": unique("Guest"), "text": "still"}}, ip=ip)
    assert int(again.headers["Retry-After"]) <= retry_after  # the same window: its end does not move


async def test_a_visitor_token_has_a_budget_of_requests(
        deployment: Deployment, admin: Admin, http, behind_proxy: ServerProcess, http_client: httpx.AsyncClient):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    visitor = await start_visitor_chat(http, channel_id)
    neighbour = await start_visitor_chat(http, channel_id)
    ip = new_ip()
    for i in range(4):
        answer = await post(http_client, behind_proxy, VISITOR_CHAT, {}, ip=ip, token=visitor.token)
        assert answer.json() == {"data": {"visitorChat": {"id": visitor.chat_id}}}
    sent = await post(http_client, behind_proxy, SEND, {"input": {"text": "the fifth request"}}, ip=ip,
                      token=visitor.token)
    assert sent.json()["data"]["sendVisitorMessage"]["userErrors"] == []
    messages = await count_rows(deployment, "message")

    refused = await post(http_client, behind_proxy, SEND, {"input": {"text": "the sixth request"}}, ip=ip,
                         token=visitor.token)
    query = await post(http_client, behind_proxy, VISITOR_CHAT, {}, ip=new_ip(), token=visitor.token)

    limit_exceeded(refused, "sendVisitorMessage")
    assert await count_rows(deployment, "message") == messages
    # a query is refused with a top-level error that carries the hint, whatever the address
    assert error_codes(query.json()) == ["LIMIT_EXCEEDED"]
    assert query.json()["errors"][0]["extensions"]["retryAfterSeconds"] == int(query.headers["Retry-After"])
    # a WebSocket with that token is refused too: closed with 4429
    for protocol in PROTOCOLS:
        with pytest.raises(LiveClosed) as closed:
            await LiveConnection(behind_proxy.ws_url, protocol=protocol, token=visitor.token).open()
        assert closed.value.code == 4429
    # another visitor's token is not affected
    other = await post(http_client, behind_proxy, VISITOR_CHAT, {}, ip=ip, token=neighbour.token)
    assert other.json() == {"data": {"visitorChat": {"id": neighbour.chat_id}}}


async def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(
        deployment: Deployment, http_client: httpx.AsyncClient):
    """TRUSTED_PROXY_HOPS=0 (the default): a client cannot escape its budget by writing the header."""
    server = await deployment.start_server({"RATE_LIMIT_LOGIN_PER_MINUTE": "2",
                                            "RATE_LIMIT_REDIS_PREFIX": own_counters(deployment)})
    try:
        wrong = {"input": {"email": ADMIN_EMAIL, "password": "wrong"}}
        answers = [await post(http_client, server, LOGIN, wrong, ip=new_ip()) for _ in range(3)]
    finally:
        deployment.stop_server(server)

    assert [[e["code"] for e in a.json()["data"]["login"]["userErrors"]] for a in answers] == [
        ["UNAUTHENTICATED"], ["UNAUTHENTICATED"], ["LIMIT_EXCEEDED"]]


@pytest.mark.postgres_only
async def test_two_server_processes_share_the_budget_through_redis(
        deployment: Deployment, http_client: httpx.AsyncClient):
    environment = {"RATE_LIMIT_LOGIN_PER_MINUTE": "4", "RATE_LIMIT_REDIS_PREFIX": own_counters(deployment)}
    first = await deployment.start_server(environment)
    second = await deployment.start_server(environment)
    try:
        wrong = {"input": {"email": ADMIN_EMAIL, "password": "wrong"}}
        answers = [await post(http_client, server, LOGIN, wrong) for server in (first, second) * 3]
    finally:
        deployment.stop_server(first)
        deployment.stop_server(second)

    codes = [[e["code"] for e in a.json()["data"]["login"]["userErrors"]] for a in answers]
    assert codes == [["UNAUTHENTICATED"]] * 4 + [["LIMIT_EXCEEDED"]] * 2  # 2 calls on each, then both refuse
    assert "Retry-After" in answers[4].headers and "Retry-After" in answers[5].headers


async def test_the_login_budget_spent_before_redis_went_down_stays_spent(
        deployment: Deployment, http_client: httpx.AsyncClient, tmp_path):
    """Redis (this test's own) killed mid-window: the server goes on from the count it had, it
    does not hand out a fresh budget of sign-in attempts."""
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    server = await deployment.start_server({
        "REDIS_URL": redis_server.url, "REDIS_CHANNEL": f"oc-e2e-rate:{uuid.uuid4().hex}",
        "RATE_LIMIT_LOGIN_PER_MINUTE": "3", "RATE_LIMIT_REDIS_PREFIX": f"oc-e2e-rate:{uuid.uuid4().hex}"})
    try:
        wrong = {"input": {"email": ADMIN_EMAIL, "password": "wrong"}}
        before = [await post(http_client, server, LOGIN, wrong) for _ in range(2)]
        redis_server.stop()
        during = [await post(http_client, server, LOGIN, wrong) for _ in range(2)]
    finally:
        deployment.stop_server(server)
        redis_server.stop()

    codes = [[e["code"] for e in a.json()["data"]["login"]["userErrors"]] for a in before + during]
    assert codes == [["UNAUTHENTICATED"]] * 3 + [["LIMIT_EXCEEDED"]]
    assert "Retry-After" in during[1].headers


async def test_over_a_websocket_a_visitors_operations_count_and_login_counts_per_ip(
        admin: Admin, http, behind_proxy: ServerProcess):
    """No way around the budgets through a WebSocket: each operation a visitor starts is a call of its
    token, and a `login` sent over the socket is counted for the client's address."""
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    visitor = await start_visitor_chat(http, channel_id)
    subscription = "subscription { visitorChatEvents(after: \"0\") { kind } }"
    async with LiveConnection(behind_proxy.ws_url, protocol=PROTOCOLS[0], token=visitor.token) as connection:
        for _ in range(4):  # connection_init was the first call; these are the 2nd to 5th
            assert (await (await connection.subscribe(subscription)).next())["visitorChatEvents"]["kind"]
        await connection.subscribe(subscription)  # the 6th
        code, reason = await connection.wait_closed()
    assert code == 4429 and "retry in" in reason

    credentials = {"email": ADMIN_EMAIL, "password": "wrong"}
    async with LiveConnection(behind_proxy.ws_url, protocol=PROTOCOLS[0]) as anonymous:  # from 127.0.0.1
        codes = []
        for _ in range(4):
            result = await (await anonymous.subscribe(LOGIN, {"input": credentials})).next()
            codes.append([e["code"] for e in result["login"]["userErrors"]])
    assert codes == [["UNAUTHENTICATED"]] * 3 + [["LIMIT_EXCEEDED"]]
