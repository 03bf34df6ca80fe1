"""Every kind of bad value, to every kind of operation, over every transport of a real server.

Queries, mutations and subscriptions are sent over HTTP (POST, and GET where a client could
use it) and over both WebSocket subprotocols (graphql-transport-ws and the legacy graphql-ws,
spoken with the raw `websockets` client), carrying overflowing integers, odd digit characters
in `after`, IDs of the wrong type, strings that are no ID, oversize documents, malformed JSON,
variables of the wrong type, and operations sent over the wrong transport.

Each must get an answer the client can act on: a GraphQL error with `extensions.code`, a
`userErrors` entry with a code, or, where the protocol itself answers a message it cannot
read, its close code (graphql-transport-ws closes with 4400; a message over the size limit
is closed with 1009 on both protocols). Never an HTTP 5xx, never INTERNAL_SERVER_ERROR (a bad
value is not a bug), and never silence: waiting ANSWER_SECONDS for an answer is a failure.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode

import httpx
import pytest
import websockets

from tests.e2e.live import LEGACY_WS, TRANSPORT_WS, LiveClosed, first_answer
from tests.hardening.conftest import World

#: how long a client waits for any answer
ANSWER_SECONDS = 5.0
POST, GET = "POST", "GET"
TRANSPORTS = [POST, GET, TRANSPORT_WS, LEGACY_WS]
#: close codes that are a protocol's own answer to a message it cannot read
PROTOCOL_REFUSALS = {4400, 1009}
USER_ERRORS = "userErrors { code field message }"
#: over WS_MAX_MESSAGE_BYTES (1 MiB) and any sensible body limit
HUGE = 2 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str
    #: query, mutation or subscription (what the document is, not what the transport allows)
    kind: str
    #: the request as the client would send it: {"query": ..., "variables": ...}
    request: Callable[[World], dict[str, Any]]
    #: a raw body / message instead of the request encoded as JSON (malformed JSON)
    raw: str | None = None
    #: transports this case makes no sense on (e.g. GET for a document of megabytes)
    not_over: tuple[str, ...] = ()


def _request(document: str, **variables: Any) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"query": document, "variables": {k: v(world) if callable(v) else v
                                                            for k, v in variables.items()}}


def _chat(world: World) -> str:
    return world.id("Chat")


def _operator(world: World) -> str:
    return world.operator.id


def _product(world: World) -> str:
    return world.id("Product")


CHAT_EVENTS = "subscription ($id: ID!) { chatEvents(chatId: $id) { eventId } }"
QUEUE_AFTER = "subscription ($after: String) { queueChanged(after: $after) { eventId } }"
CONVERSATIONS = "query ($first: Int, $after: String) { conversations(first: $first, after: $after) { totalCount } }"
SEND = f"mutation ($id: ID!) {{ sendMessage(input: {{chatId: $id, text: \"hostile\"}}) {{ {USER_ERRORS} }} }}"
TRANSFER = ("mutation ($chat: ID!, $to: ID!) { transferChat(input: {chatId: $chat, operatorId: $to}) "
            f"{{ {USER_ERRORS} }} }}")
ORDER = ("mutation ($chat: ID!, $product: ID!, $quantity: Int!) { createChatOrder(input: {chatId: $chat, "
         f"items: [{{productId: $product, quantity: $quantity}}]}}) {{ {USER_ERRORS} }} }}")


def _many_fields(kind: str, root: str, count: int) -> str:
    return f"{kind} {{ " + " ".join(f"a{n}: {root}" for n in range(count)) + " }"


CASES = [
    # overflowing integers
    Case("int-2**70", "query", _request(CONVERSATIONS, first=2**70)),
    Case("int-2**70", "mutation", _request(ORDER, chat=_chat, product=_product, quantity=2**70)),
    Case("int-2**70", "subscription", _request(QUEUE_AFTER, after=2**70)),
    # odd digit characters in `after`
    Case("after-superscript", "query", _request(CONVERSATIONS, first=5, after="²")),
    Case("after-superscript", "subscription", _request(QUEUE_AFTER, after="²")),
    Case("after-arabic-indic", "query", _request(CONVERSATIONS, first=5, after="١٢")),
    Case("after-arabic-indic", "subscription", _request(QUEUE_AFTER, after="١٢")),
    # an ID of the wrong type, both ways round
    Case("operator-id-for-chat", "query", _request("query ($id: ID!) { chat(id: $id) { id } }", id=_operator)),
    Case("operator-id-for-chat", "mutation", _request(SEND, id=_operator)),
    Case("operator-id-for-chat", "subscription", _request(CHAT_EVENTS, id=_operator)),
    Case("chat-id-for-operator", "mutation", _request(TRANSFER, chat=_chat, to=_chat)),
    # a string that is no ID at all
    Case("not-an-id", "query", _request("query ($id: ID!) { chat(id: $id) { id } }", id="not an id!")),
    Case("not-an-id", "mutation", _request(SEND, id="not an id!")),
    Case("not-an-id", "subscription", _request(CHAT_EVENTS, id="not an id!")),
    # variables of the wrong type
    Case("object-for-id", "query", _request("query ($id: ID!) { chat(id: $id) { id } }", id={"x": 1})),
    Case("object-for-id", "mutation", _request(SEND, id={"x": 1})),
    Case("object-for-id", "subscription", _request(CHAT_EVENTS, id={"x": 1})),
    Case("string-for-int", "query", _request(CONVERSATIONS, first="five")),
    Case("list-for-string", "subscription", _request(QUEUE_AFTER, after=["1"])),
    Case("missing-required", "mutation", _request(SEND)),
    # oversize documents: over the token limit, and over every size limit
    Case("many-tokens", "query", lambda w: {"query": _many_fields("query", "__typename", 3000)}),
    Case("many-tokens", "mutation", lambda w: {"query": _many_fields("mutation", "__typename", 3000)}),
    Case("many-tokens", "subscription", lambda w: {"query": _many_fields("subscription", "__typename", 3000)}),
    Case("huge", "query", lambda w: {"query": "query { __typename }" + " " * HUGE}, not_over=(GET,)),
    Case("huge", "mutation", lambda w: {"query": "mutation { __typename }" + " " * HUGE}, not_over=(GET,)),
    # malformed JSON (the body, or the WebSocket message)
    Case("malformed-json", "query", lambda w: {}, raw='{"query": "{ __typename }"', not_over=(GET,)),
    Case("not-an-object", "query", lambda w: {}, raw='["{ __typename }"]', not_over=(GET,)),
    Case("query-not-a-string", "query", lambda w: {"query": 42}, not_over=(GET,)),
    Case("variables-not-an-object", "query", lambda w: {"query": CONVERSATIONS, "variables": [5]},
         not_over=(GET,)),
    # wrong protocols: a subscription over HTTP, a query or mutation over the legacy graphql-ws
    # (which must run them: their answer is data, checked by test_wrong_protocols_still_answer)
    Case("subscription-over-http", "subscription", _request("subscription { myChatsChanged { eventId } }"),
         not_over=(TRANSPORT_WS, LEGACY_WS)),
]


def _params() -> list[Any]:
    params = []
    for case in CASES:
        for transport in TRANSPORTS:
            if transport in case.not_over or (transport == GET and case.kind == "mutation" and case.raw):
                continue
            params.append(pytest.param(case, transport, id=f"{case.kind}-{case.name}-{transport}"))
    return params


# --------------------------------------------------------------------------- the clients

@dataclass
class Answer:
    """What came back: a GraphQL response (or an error payload), or a close code."""

    body: Any = None
    status: int | None = None
    close_code: int | None = None
    close_reason: str = ""

    def __str__(self) -> str:
        if self.close_code is not None:
            return f"closed {self.close_code} {self.close_reason!r}"
        return f"HTTP {self.status}: {json.dumps(self.body)[:1500]}" if self.status else json.dumps(self.body)[:1500]


async def over_http(world: World, client: httpx.AsyncClient, method: str, case: Case) -> Answer:
    headers = {"Authorization": f"Bearer {world.operator.token}", "Accept": "application/json"}
    if method == GET:
        request = case.request(world)
        params = {"query": request["query"], **({"variables": json.dumps(request["variables"])}
                                                 if request.get("variables") else {})}
        answer = await client.get(f"{world.url}?{urlencode(params)}", headers=headers)
    else:
        body = case.raw if case.raw is not None else json.dumps(case.request(world))
        answer = await client.post(world.url, content=body, headers={**headers, "Content-Type": "application/json"})
    try:
        return Answer(body=answer.json(), status=answer.status_code)
    except ValueError:
        return Answer(body=answer.text[:500], status=answer.status_code)


async def over_websocket(world: World, protocol: str, case: Case) -> Answer:
    """connection_init with the operator's token, one operation, and the first answer to it."""
    start = "subscribe" if protocol == TRANSPORT_WS else "start"
    message = case.raw if case.raw is not None else json.dumps({"id": "1", "type": start,
                                                                 "payload": case.request(world)})
    answer = await first_answer(world.deployment.server.ws_url, protocol, world.operator.token, message,
                                timeout=ANSWER_SECONDS)
    if isinstance(answer, LiveClosed):
        return Answer(close_code=answer.code, close_reason=answer.reason)
    return Answer(body=answer)


# --------------------------------------------------------------------------- judging

def codes_of(answer: Answer) -> list[Any]:
    """Every code the answer carries: top-level errors' extensions.code, userErrors' code."""
    body = answer.body
    if isinstance(body, dict) and "type" in body:  # a WebSocket frame: look at its payload
        body = body.get("payload")
    errors = body if isinstance(body, list) else (body.get("errors") or [body]) if isinstance(body, dict) else []
    codes = [(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict) and
             ("message" in e or "extensions" in e)]
    data = body.get("data") if isinstance(body, dict) else None
    for payload in (data or {}).values() if isinstance(data, dict) else ():
        if isinstance(payload, dict):
            codes += [e.get("code") for e in payload.get("userErrors") or []]
    return codes


def assert_refused_with_a_code(answer: Answer, world: World) -> None:
    if answer.close_code is not None:
        assert answer.close_code in PROTOCOL_REFUSALS, f"{answer}\n{world.server_log()[-3000:]}"
        assert answer.close_reason, answer
        return
    assert answer.status is None or answer.status < 500, f"{answer}\n{world.server_log()[-3000:]}"
    codes = codes_of(answer)
    assert codes and all(isinstance(code, str) for code in codes), f"an answer without a code: {answer}"
    assert "INTERNAL_SERVER_ERROR" not in codes, f"{answer}\n{world.server_log()[-4000:]}"


@pytest.mark.parametrize(("case", "transport"), _params())
async def test_every_bad_value_gets_an_answer_with_a_code(hardened: World, http_client: httpx.AsyncClient,
                                                         case: Case, transport: str) -> None:
    if transport in (POST, GET):
        answer = await over_http(hardened, http_client, transport, case)
    else:
        answer = await over_websocket(hardened, transport, case)
    assert_refused_with_a_code(answer, hardened)


# --------------------------------------------------------------------------- the wrong protocol

@pytest.mark.parametrize("kind", ["query", "mutation"])
async def test_a_query_or_mutation_over_graphql_ws_is_answered_with_data(hardened: World, kind: str) -> None:
    """The legacy protocol runs queries and mutations too: their data, then `complete`."""
    request = {"query": "{ me { operator { id } } }"} if kind == "query" else \
        {"query": SEND, "variables": {"id": "not an id!"}}
    case = Case("valid", kind, lambda w: request)
    url = hardened.deployment.server.ws_url
    async with websockets.connect(url, subprotocols=[LEGACY_WS], open_timeout=ANSWER_SECONDS) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {hardened.operator.token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), ANSWER_SECONDS))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": case.request(hardened)}))
        data = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_SECONDS))
        complete = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_SECONDS))

    assert data["type"] == "data" and "errors" not in data["payload"], data
    if kind == "query":
        assert data["payload"]["data"] == {"me": {"operator": {"id": hardened.operator.id}}}
    else:
        assert [e["code"] for e in data["payload"]["data"]["sendMessage"]["userErrors"]] == ["INVALID_INPUT"]
    assert complete == {"type": "complete", "id": "1"}


@pytest.mark.parametrize("method", [POST, GET])
async def test_a_subscription_over_http_says_to_use_a_websocket(hardened: World, http_client: httpx.AsyncClient,
                                                                method: str) -> None:
    case = Case("over-http", "subscription", _request("subscription { myChatsChanged { eventId } }"))
    answer = await over_http(hardened, http_client, method, case)

    assert answer.status == 200, answer
    assert answer.body["data"] is None
    assert codes_of(answer) == ["BAD_REQUEST"]
    assert "WebSocket" in answer.body["errors"][0]["message"]
