"""The visitor's place in the queue over real WebSockets (both protocols) on both backends: a
visitor second in line is sent 2, then 1 when the chat ahead is answered, null when their own is
answered, and the subscription completes when it is finished; only their own chat, and an
operator token is refused; on PostgreSQL+Redis the answer through one process reaches a visitor
subscribed on another."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e.actors import Admin, GraphQLHttp, Operator, start_visitor_chat
from tests.e2e.live import (
    LEGACY_WS, PROTOCOLS, TRANSPORT_WS, LiveCompleted, LiveConnection, LiveError, LiveSubscription,
)
from tests.e2e.server import Deployment, ServerProcess

VISITOR_QUEUE = "subscription { visitorQueue { chatId queuePosition estimatedWaitSeconds at } }"


async def standing(subscription: LiveSubscription) -> dict:
    return (await subscription.next())["visitorQueue"]


async def two_in_line(admin: Admin, http: GraphQLHttp):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    first = await start_visitor_chat(http, channel_id)
    second = await start_visitor_chat(http, channel_id)
    return operator, first, second


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_visitor_second_in_line_sees_their_place_move_until_their_chat_ends(admin, http, ws_url, protocol):
    operator, first, second = await two_in_line(admin, http)
    async with LiveConnection(ws_url, protocol=protocol, token=second.token) as second_ws, \
            LiveConnection(ws_url, protocol=protocol, token=first.token) as first_ws:
        at_second = await second_ws.subscribe(VISITOR_QUEUE)
        at_first = await first_ws.subscribe(VISITOR_QUEUE)
        now = await standing(at_second)
        assert (now["chatId"], now["queuePosition"], now["estimatedWaitSeconds"]) == (second.chat_id, 2, None)
        assert now["at"]
        assert (await standing(at_first))["chatId"] == first.chat_id  # each their own chat

        await operator.answer(first.chat_id)
        moved = await standing(at_second)
        assert (moved["chatId"], moved["queuePosition"]) == (second.chat_id, 1)
        # known now: the first chat's wait (a moment) less what this one has waited already, about 0
        assert isinstance(moved["estimatedWaitSeconds"], int) and 0 <= moved["estimatedWaitSeconds"] <= 5
        assert (await standing(at_first))["queuePosition"] is None  # answered: no place

        await operator.answer(second.chat_id)
        assert (await standing(at_second))["queuePosition"] is None
        await operator.finish(second.chat_id)
        last = await standing(at_second)  # closed: a last null standing, then the end
        assert (last["queuePosition"], last["estimatedWaitSeconds"]) == (None, None)
        with pytest.raises(LiveCompleted):
            await at_second.next()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_operator_token_is_refused_with_a_clear_error(admin, http, ws_url, protocol):
    operator, _, _ = await two_in_line(admin, http)
    async with LiveConnection(ws_url, protocol=protocol, token=operator.token) as operator_ws:
        subscription = await operator_ws.subscribe(VISITOR_QUEUE)
        with pytest.raises(LiveError) as refused:
            await subscription.next()
    assert refused.value.codes == ["FORBIDDEN"]
    assert "visitor token" in refused.value.errors[0]["message"]


@pytest_asyncio.fixture
async def process_b(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    server = await deployment.start_server()
    try:
        yield server
    finally:
        deployment.stop_server(server)


@pytest.mark.postgres_only
async def test_an_answer_through_one_process_moves_a_visitor_subscribed_on_another(
    deployment: Deployment, admin: Admin, http: GraphQLHttp, http_client, process_b: ServerProcess,
):
    operator, first, second = await two_in_line(admin, http)
    operator_on_b = Operator(GraphQLHttp(http_client, process_b.graphql_url), operator.token, id=operator.id)
    async with LiveConnection(deployment.server.ws_url, protocol=TRANSPORT_WS, token=second.token) as on_a, \
            LiveConnection(process_b.ws_url, protocol=LEGACY_WS, token=first.token) as on_b:
        at_second = await on_a.subscribe(VISITOR_QUEUE)
        at_first = await on_b.subscribe(VISITOR_QUEUE)
        assert (await standing(at_second))["queuePosition"] == 2
        assert (await standing(at_first))["queuePosition"] == 1
        await operator_on_b.answer(first.chat_id)  # through B: A learns it from Redis
        assert (await standing(at_second))["queuePosition"] == 1
        assert (await standing(at_first))["queuePosition"] is None
