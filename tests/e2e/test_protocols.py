"""The transports as clients meet them: GET and POST, GraphiQL, both WebSocket subprotocols,
and how a missing or bad token is answered on each."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from tests.e2e.actors import CHAT_EVENTS, QUEUE_CHANGED, Admin, error_codes, start_visitor_chat, unique
from tests.e2e.live import EVENT_TIMEOUT, PROTOCOLS, LiveClosed, LiveConnection, LiveError
from tests.e2e.server import Deployment


async def test_get_runs_a_query(deployment: Deployment, http_client: httpx.AsyncClient):
    answer = await http_client.get(deployment.server.graphql_url, params={"query": "{__typename}"},
                                   headers={"Accept": "application/json"})

    assert answer.status_code == 200
    assert answer.json() == {"data": {"__typename": "Query"}}


async def test_a_browser_gets_graphiql(deployment: Deployment, http_client: httpx.AsyncClient):
    answer = await http_client.get(deployment.server.graphql_url,
                                   headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "graphiql" in answer.text.lower()


async def test_a_mutation_over_get_is_refused_and_does_nothing(deployment: Deployment, admin: Admin,
                                                               http_client: httpx.AsyncClient):
    email = f"{unique('via-get')}@e2e.test"
    mutation = f'mutation {{ createOperator(input: {{name: "Via Get", email: "{email}"}}) {{ operator {{ id }} }} }}'

    answer = await http_client.get(deployment.server.graphql_url, params={"query": mutation},
                                   headers={"Authorization": f"Bearer {admin.token}", "Accept": "application/json"})

    assert answer.status_code in (400, 405), answer.text
    assert "mutation" in answer.text.lower()
    operators = (await admin.data("{ operators { email } }"))["operators"]
    assert email not in [o["email"] for o in operators]


async def test_anonymous_http_gets_a_top_level_unauthenticated(http):
    body = await http.post("{ me { operator { id } } }")

    assert body["data"] is None
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["errors"][0]["path"] == ["me"]


async def test_a_bad_token_over_http_is_unauthenticated(http):
    body = await http.post("{ me { operator { id } } }", token="oc_not-a-real-token")

    assert error_codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_bad_token_closes_the_websocket_with_4403(ws_url, protocol):
    with pytest.raises(LiveClosed) as closed:
        await LiveConnection(ws_url, protocol=protocol, token="oc_not-a-real-token").open()

    assert closed.value.code == 4403


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_anonymous_websocket_cannot_subscribe(ws_url, protocol):
    async with LiveConnection(ws_url, protocol=protocol) as anonymous:
        subscription = await anonymous.subscribe(QUEUE_CHANGED, {"after": "0"})
        with pytest.raises(LiveError) as refused:
            await subscription.next()

    assert refused.value.codes == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("protocol", [
    WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL,  # "graphql-transport-ws"
    WebsocketsTransport.APOLLO_SUBPROTOCOL,  # "graphql-ws", the legacy one
], ids=["graphql-transport-ws", "graphql-ws"])
async def test_gql_client_streams_over_each_subprotocol(admin: Admin, http, ws_url, protocol):
    """The `gql` library as a client: it replays a chat's history (`after: "0"`), then streams live."""
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    visitor = await start_visitor_chat(http, channel_id, text="First message")
    await operator.answer(visitor.chat_id)

    transport = WebsocketsTransport(url=ws_url, init_payload={"authorization": f"Bearer {operator.token}"},
                                    subprotocols=[protocol], connect_timeout=EVENT_TIMEOUT, ack_timeout=EVENT_TIMEOUT,
                                    close_timeout=2)
    async with Client(transport=transport) as session:
        assert transport.subprotocol == protocol
        events = session.subscribe(GraphQLRequest(CHAT_EVENTS, variable_values={"chatId": visitor.chat_id,
                                                                                "after": "0"}))

        async def next_event() -> dict:
            return (await asyncio.wait_for(anext(events), EVENT_TIMEOUT))["chatEvents"]

        # the first replayed event means the backlog was read, after the live feed was joined:
        # what happens from now on arrives live
        received = [await next_event()]
        sent = await operator.send(visitor.chat_id, "Hello from the operator")
        while received[-1]["kind"] != "MESSAGE_ADDED" or received[-1]["message"]["id"] != sent["id"]:
            received.append(await next_event())

        *replayed, live = received
        assert [e["message"]["text"] for e in replayed if e["kind"] == "MESSAGE_ADDED"] == ["First message"]
        assert {e["kind"] for e in replayed} == {"CHAT_UPDATED", "MESSAGE_ADDED"}  # queued, offered, answered
        assert (live["kind"], live["message"]["text"]) == ("MESSAGE_ADDED", "Hello from the operator")
        event_ids = [int(e["eventId"]) for e in received]
        assert event_ids == sorted(set(event_ids))
        await events.aclose()


async def test_a_bad_token_is_refused_without_a_server_error_in_the_log(deployment: Deployment):
    """A client with a wrong token is an expected event: no "Exception in ASGI application" for it."""
    server = await deployment.start_server()  # its own log, read after it has stopped: nothing still in flight
    try:
        for protocol in PROTOCOLS:
            with pytest.raises(LiveClosed) as closed:
                await LiveConnection(server.ws_url, protocol=protocol, token="oc_not-a-real-token").open()
            assert closed.value.code == 4403
    finally:
        deployment.stop_server(server)

    log = server.log()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log
