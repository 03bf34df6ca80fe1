"""Revoked access stops streaming, on a real server and both WebSocket subprotocols.

The server here re-checks the token of every live connection every RECHECK_SECONDS (its
TOKEN_CACHE_SECONDS): a token deleted by hand, revoked with `logout` (on this server) or with
an admin's `revokeOperatorTokens` (on another server process) closes the sockets opened with
it with 4403; a supervisor demoted to operator gets only their own queues' events from the
next event on.
"""
from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from typing import Any

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


async def demote_and_check(deployment: Deployment, http: GraphQLHttp, supervisor: Actor, canary: tuple[Actor, Any],
                           own: str, other: str, queues: Any) -> None:
    """The supervisor demoted to operator by hand; once a re-check has read it (the canary's token,
    deleted with it, closes the canary's socket), a chat in the other channel, then one in their own:
    `queues` (their queueChanged on both) gets the own one and never the other."""
    canary_actor, canary_socket = canary
    await by_hand(deployment, "UPDATE operator SET role = 'OPERATOR' WHERE id = $1", primary_key(supervisor.id))
    await by_hand(deployment, "DELETE FROM api_token WHERE operator_id = $1", primary_key(canary_actor.id))
    # the canary's socket closes in the first re-check that read the database after the demotion
    assert await canary_socket.wait_closed(timeout=CLOSE_WITHIN) == (4403, "Token revoked")
    hidden = await start_visitor_chat(http, other)
    mine = await start_visitor_chat(http, own)
    following = [(await queues.next())["queueChanged"]]
    while following[-1]["chat"]["id"] != mine.chat_id:  # events are in order: the hidden one came first
        following.append((await queues.next())["queueChanged"])
    # the other channel's new chat (with its client) never arrived; the own queue's did
    assert hidden.chat_id not in [event["chat"]["id"] for event in following]
    assert following[-1]["openChannel"]["id"] == own


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

        await demote_and_check(deployment, on_rechecking, supervisor, (canary, canary_socket), own, other, queues)


#: shared by identical subscriptions of one token (no `after`): one stream for the group, run in the
#: context of the group's first connection (openchannels/shared_subscriptions.py)
SHARED_QUEUE = "subscription ($ids: [ID!]) { queueChanged(openChannelIds: $ids) { kind chat { id } openChannel { id } } }"


async def test_a_shared_subscription_follows_a_demotion_after_its_first_connection_closed(
        deployment: Deployment, admin: Admin, rechecking: ServerProcess, on_rechecking: GraphQLHttp):
    """Two tabs of one supervisor share a stream, which runs in the first tab's context; the first tab
    closes, the supervisor is demoted: the second tab gets only their own queue's events from then on
    (a context that let go of its token with its connection would keep the supervisor's view)."""
    supervisor = await admin.create_operator(role="SUPERVISOR")
    colleague = await admin.create_operator(status="OFFLINE")
    own = await admin.create_open_channel([supervisor])
    other = await admin.create_open_channel([colleague])
    canary = await admin.create_operator(status="OFFLINE")  # its socket shows when a re-check has run
    variables = {"ids": [own, other]}

    async with LiveConnection(rechecking.ws_url, token=supervisor.token) as second, \
            LiveConnection(rechecking.ws_url, token=canary.token) as canary_socket:
        first = await LiveConnection(rechecking.ws_url, token=supervisor.token).open()
        try:
            # the first tab's subscription live before the second's: the group is the first tab's
            await _live(await first.subscribe(SHARED_QUEUE, variables), on_rechecking, other)
            second_tab = await second.subscribe(SHARED_QUEUE, variables)
            await _live(second_tab, on_rechecking, other)  # a supervisor sees every channel
        finally:
            await first.close()  # the group's first connection: its context runs the shared stream

        await demote_and_check(deployment, on_rechecking, supervisor, (canary, canary_socket), own, other, second_tab)


async def _live(subscription, http: GraphQLHttp, channel_id: str) -> None:
    """Chats start in the channel until one of them reaches the subscription (a subscription that
    starts after an event never sees it)."""
    for _ in range(10):
        if await _arrives(subscription, (await start_visitor_chat(http, channel_id)).chat_id):
            return
    raise AssertionError("the subscription received none of 10 chats")


async def _arrives(subscription, chat_id: str, timeout: float = 2.0) -> bool:
    """Whether an event of this chat arrives on the subscription within `timeout` (others skipped)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if (await subscription.next())["queueChanged"]["chat"]["id"] == chat_id:
                    return True
    except TimeoutError:
        return False


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
