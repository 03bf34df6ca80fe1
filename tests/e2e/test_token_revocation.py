"""Revoked access stops streaming, on a real server and both WebSocket subprotocols.

The server here re-checks the token of every live connection every RECHECK_SECONDS (its
TOKEN_CACHE_SECONDS): a token deleted by hand, revoked with `logout` (on this server) or with
an admin's `revokeOperatorTokens` (on another server process) closes the sockets opened with
it with 4403; a supervisor demoted to operator gets only their own queues' events from the
next event on.
"""
from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.e2e.actors import (
    QUEUE_CHANGED, USER_ERRORS, Actor, Admin, GraphQLHttp, error_codes, start_visitor_chat, unique,
)
from tests.e2e.live import PROTOCOLS, LiveConnection
from tests.e2e.outages import primary_key
from tests.e2e.server import Deployment, ServerProcess

RECHECK_SECONDS = 0.5
#: the re-check's period, and room for a loaded machine
CLOSE_WITHIN = RECHECK_SECONDS + 4

LOGOUT = f"mutation {{ logout {{ revokedTokens {USER_ERRORS} }} }}"
LOGOUT_EVERYWHERE = f"mutation {{ logout(input: {{everywhere: true}}) {{ revokedTokens {USER_ERRORS} }} }}"
REVOKE = (f"mutation ($input: RevokeOperatorTokensInput!) {{ revokeOperatorTokens(input: $input) "
          f"{{ operator {{ id }} revokedTokens {USER_ERRORS} }} }}")
ME = "{ me { operator { id } } }"


@pytest_asyncio.fixture(scope="module")
async def rechecking(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    server = await deployment.start_server({"TOKEN_CACHE_SECONDS": str(RECHECK_SECONDS)})
    try:
        yield server
    finally:
        deployment.stop_server(server)


@pytest.fixture
def on_rechecking(rechecking: ServerProcess, http_client: httpx.AsyncClient) -> GraphQLHttp:
    return GraphQLHttp(http_client, rechecking.graphql_url)


async def by_hand(deployment: Deployment, statement: str, *values: object) -> None:
    """A change made in the database directly, not through the API (`$n` parameters)."""
    url = deployment.database_url
    if url.startswith("sqlite://"):
        db = sqlite3.connect(url.removeprefix("sqlite://"), timeout=10)
        try:
            with db:
                db.execute(re.sub(r"\$(\d+)", r"?\1", statement), values)
        finally:
            db.close()
        return
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
    try:
        await connection.execute(statement, *values)
    finally:
        await connection.close()


@pytest.mark.parametrize("how", ["deleted-by-hand", "logout", "revoke-operator-tokens"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_revoked_token_closes_its_websockets_with_4403(
        deployment: Deployment, admin: Admin, rechecking: ServerProcess, on_rechecking: GraphQLHttp,
        protocol: str, how: str):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    await start_visitor_chat(on_rechecking, channel_id)

    async with LiveConnection(rechecking.ws_url, protocol=protocol, token=operator.token) as connection:
        subscription = await connection.subscribe(QUEUE_CHANGED, {"ids": [channel_id], "after": "0"})
        assert (await subscription.next())["queueChanged"]["kind"] == "CHAT_QUEUED"  # open and streaming
        if how == "deleted-by-hand":
            await by_hand(deployment, "DELETE FROM api_token WHERE operator_id = $1", primary_key(operator.id))
        elif how == "logout":  # on the server that holds the socket
            answer = await on_rechecking.post(LOGOUT, token=operator.token)
            assert answer == {"data": {"logout": {"revokedTokens": 1, "userErrors": []}}}
        else:  # by an admin, on another server process
            answer = await admin.http.post(REVOKE, {"input": {"operatorId": operator.id}}, token=admin.token)
            assert answer == {"data": {"revokeOperatorTokens": {
                "operator": {"id": operator.id}, "revokedTokens": 1, "userErrors": []}}}
        code, reason = await connection.wait_closed(timeout=CLOSE_WITHIN)

    assert (code, reason) == (4403, "Token revoked")
    assert error_codes(await on_rechecking.post(ME, token=operator.token)) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_demoted_supervisor_stops_receiving_other_channels_from_the_next_event(
        deployment: Deployment, admin: Admin, rechecking: ServerProcess, on_rechecking: GraphQLHttp, protocol: str):
    supervisor = await admin.create_operator(role="SUPERVISOR")
    colleague = await admin.create_operator(status="OFFLINE")  # nobody is offered the other channel's chats
    own = await admin.create_open_channel([supervisor])
    other = await admin.create_open_channel([colleague])
    canary = await admin.create_operator(status="OFFLINE")  # its socket shows when a re-check has run

    async with LiveConnection(rechecking.ws_url, protocol=protocol, token=supervisor.token) as watching, \
            LiveConnection(rechecking.ws_url, protocol=protocol, token=canary.token) as canary_socket:
        queues = await watching.subscribe(QUEUE_CHANGED, {"ids": [own, other], "after": "0"})
        elsewhere = await start_visitor_chat(on_rechecking, other)
        seen = (await queues.next())["queueChanged"]
        assert (seen["openChannel"]["id"], seen["chat"]["id"]) == (other, elsewhere.chat_id)  # a supervisor sees all

        await by_hand(deployment, "UPDATE operator SET role = 'OPERATOR' WHERE id = $1", primary_key(supervisor.id))
        await by_hand(deployment, "DELETE FROM api_token WHERE operator_id = $1", primary_key(canary.id))
        # the canary's socket closes in the first re-check that read the database after the demotion
        assert await canary_socket.wait_closed(timeout=CLOSE_WITHIN) == (4403, "Token revoked")
        hidden = await start_visitor_chat(on_rechecking, other)
        mine = await start_visitor_chat(on_rechecking, own)
        following = [(await queues.next())["queueChanged"]]
        while following[-1]["chat"]["id"] != mine.chat_id:  # events are in order: the hidden one came first
            following.append((await queues.next())["queueChanged"])

    # the other channel's new chat (with its client) never arrived; the own queue's did
    assert hidden.chat_id not in [event["chat"]["id"] for event in following]
    assert following[-1]["openChannel"]["id"] == own


async def test_revoke_operator_tokens_is_for_admins(admin: Admin, http: GraphQLHttp):
    supervisor = await admin.create_operator(role="SUPERVISOR")
    operator = await admin.create_operator()

    refused = await http.post(REVOKE, {"input": {"operatorId": operator.id}}, token=supervisor.token)
    anonymous = await http.post(LOGOUT)

    payload = refused["data"]["revokeOperatorTokens"]
    assert (payload["operator"], payload["revokedTokens"]) == (None, 0)
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]
    assert (await Actor(http, operator.token).data(ME))["me"]["operator"]["id"] == operator.id  # still valid
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]


async def test_logout_everywhere_signs_out_every_device_of_mine_only(admin: Admin, http: GraphQLHttp):
    email, password = f"{unique('devices')}@e2e.test", f"pw-{uuid.uuid4().hex}"
    await admin.mutate("createOperator", "operator { id }", {"name": unique("Devices"), "email": email,
                                                             "password": password}, "CreateOperatorInput")
    devices = [(await Actor(http, None).mutate("login", "token", {"email": email, "password": password},
                                               "LoginInput"))["token"] for _ in range(3)]

    answer = await http.post(LOGOUT_EVERYWHERE, token=devices[0])

    assert answer == {"data": {"logout": {"revokedTokens": 3, "userErrors": []}}}
    for token in devices:
        assert error_codes(await http.post(ME, token=token)) == ["UNAUTHENTICATED"]
    assert (await admin.data(ME))["me"]["operator"]["id"]  # nobody else's
