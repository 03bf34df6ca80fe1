"""Hostile inputs over real HTTP: huge strings, unicode edge cases, deep nesting, invalid IDs.

A refused input is a userError with a code (mutations) or a top-level error with a code
(queries), never an HTTP 5xx or INTERNAL_SERVER_ERROR, and it changes nothing (the row count
of every table, read from the database, is the same before and after). Valid but unusual
text (right-to-left overrides, emoji ZWJ sequences, combining characters) is stored as sent.

What is refused (README "Input limits"): text with a NUL character or a lone UTF-16
surrogate (PostgreSQL cannot store either, so they are refused on every backend), text over
the field's length limit, and IDs that are not a global ID of the expected type with a
positive primary key within MAX_PK.
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import graphql
import httpx
import pytest
import pytest_asyncio
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from resolvers.ids import MAX_PK, to_global_id
from services.automation.connector_adapters import sign
from services.common.errors import DomainError
from tests.e2e.live import EVENT_TIMEOUT
from tests.hardening.conftest import World, build_world

DOMAIN_CODES = {cls.code for cls in (DomainError, *DomainError.__subclasses__())}
USER_ERRORS = "userErrors { code field message }"

#: text no database column may hold: refused with INVALID_INPUT
NUL = "before\x00after"
LONE_SURROGATE = "before\ud800after"
#: valid text that must come back exactly as sent
UNUSUAL_TEXTS = {
    "rtl-override": "invoice\u202egnp.exe\u202c done",
    "emoji-zwj": "family \U0001F469\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 and \U0001F3F3\uFE0F\u200D\U0001F308",
    "combining": "Z\u0351\u0352\u0353a\u0300\u0301\u0302l\u0303\u0304g\u0305o" + "e\u0301" * 100,
    "bom-and-nonchar": "\ufeffstart\ufffe\uffffend",
}
ONE_MEGABYTE = "x" * 1_000_000


@pytest_asyncio.fixture(scope="module")
async def world(hardened: World) -> World:
    """Objects in a known state (the fuzzer may have finished or renamed the shared world's)."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(60)) as client:
        return await build_world(hardened.deployment, client)


async def post(world: World, client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
               token: str | None = None) -> dict[str, Any]:
    """POST /graphql with the body encoded by json.dumps: lone surrogates travel as \\uD800 escapes."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    answer = await client.post(world.url, content=body, headers=headers)
    assert answer.status_code < 500, f"HTTP {answer.status_code}: {answer.text[:1000]}\n{world.server_log()[-4000:]}"
    result = answer.json()
    internal = [e for e in result.get("errors") or [] if (e.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"]
    assert not internal, f"{internal}\nserver log:\n{world.server_log()[-6000:]}"
    return result


async def mutate(world: World, client: httpx.AsyncClient, field: str, input_type: str, input: dict[str, Any],
                 token: str | None, selection: str = "__typename") -> dict[str, Any]:
    """The payload of `field(input:)`; a top-level error is a failure here."""
    body = await post(world, client, f"mutation ($input: {input_type}!) {{ {field}(input: $input) "
                                     f"{{ {selection} {USER_ERRORS} }} }}", {"input": input}, token)
    assert not body.get("errors"), body["errors"]
    return body["data"][field]


def refused(payload: dict[str, Any], code: str = "INVALID_INPUT") -> list[str]:
    """The userError codes of a refused mutation (asserting it was refused with a domain code)."""
    codes = [e["code"] for e in payload["userErrors"]]
    assert codes, f"accepted: {payload}"
    assert set(codes) <= DOMAIN_CODES, payload
    assert code in codes, payload
    return codes


# --------------------------------------------------------------------------- text fields

def _text_targets(world: World) -> list[tuple[str, str, dict[str, Any], str, str | None]]:
    """(mutation, input type, a valid input, the text field to spoil ("t" in it), who calls) for every free-text input."""
    chat, message, channel = world.id("Chat"), world.id("Message"), world.id("OpenChannel")
    operator, admin, visitor = world.operator.token, world.admin.token, world.visitor.token
    return [
        ("renameChat", "RenameChatInput", {"chatId": chat, "title": "t"}, "title", operator),
        ("sendMessage", "SendMessageInput", {"chatId": chat, "text": "t"}, "text", operator),
        ("sendVisitorMessage", "SendVisitorMessageInput", {"text": "t"}, "text", visitor),
        ("editMessage", "EditMessageInput", {"messageId": message, "text": "t"}, "text", operator),
        ("transferChat", "TransferChatInput", {"chatId": chat, "operatorId": world.admin.id, "comment": "t"},
         "comment", operator),
        ("startVisitorChat", "StartVisitorChatInput", {"openChannelId": channel, "name": "t", "text": "t"}, "name", None),
        ("startVisitorChat", "StartVisitorChatInput", {"openChannelId": channel, "name": "n", "email": "a@b.c",
                                                      "text": "t"}, "email", None),
        ("startVisitorChat", "StartVisitorChatInput", {"openChannelId": channel, "name": "n", "phone": "+15550100",
                                                      "text": "t"}, "phone", None),
        ("startVisitorChat", "StartVisitorChatInput", {"openChannelId": channel, "name": "n", "text": "t"}, "text", None),
        ("createOperator", "CreateOperatorInput", {"name": "t", "email": "hostile@e2e.test", "password": "long-password-1"},
         "name", admin),
        ("createOperator", "CreateOperatorInput", {"name": "n", "email": "t", "password": "long-password-1"}, "email", admin),
        ("createOperator", "CreateOperatorInput", {"name": "n", "email": "hostile@e2e.test", "password": "t"},
         "password", admin),
        ("login", "LoginInput", {"email": "t", "password": "whatever-password"}, "email", None),
        ("login", "LoginInput", {"email": "admin@e2e.test", "password": "t"}, "password", None),
        ("createOpenChannel", "CreateOpenChannelInput", {"name": "t"}, "name", admin),
        ("createOpenChannel", "CreateOpenChannelInput", {"name": "n", "welcomeMessage": "t"}, "welcomeMessage", admin),
        ("updateOpenChannel", "UpdateOpenChannelInput", {"openChannelId": channel, "name": "t"}, "name", admin),
        ("updateOpenChannel", "UpdateOpenChannelInput", {"openChannelId": channel, "welcomeMessage": "t"},
         "welcomeMessage", admin),
        ("createCannedResponse", "CreateCannedResponseInput", {"title": "t", "text": "x"}, "title", operator),
        ("createCannedResponse", "CreateCannedResponseInput", {"title": "x", "text": "t"}, "text", operator),
        ("updateCannedResponse", "UpdateCannedResponseInput", {"cannedResponseId": world.id("CannedResponse"),
                                                              "text": "t"}, "text", operator),
        ("saveMessageAsCannedResponse", "SaveMessageAsCannedResponseInput", {"messageId": message, "title": "t"},
         "title", operator),
        ("createTaskFromMessage", "CreateTaskFromMessageInput", {"messageId": message, "title": "t"}, "title", operator),
        ("createTaskFromMessage", "CreateTaskFromMessageInput", {"messageId": message, "description": "t"},
         "description", operator),
        ("createFeedPostFromMessage", "CreateFeedPostFromMessageInput", {"messageId": message, "text": "t"}, "text",
         operator),
        ("rateChat", "RateChatInput", {"vote": "LIKE", "comment": "t"}, "comment", world.finished_visitor.token),
        ("createProduct", "CreateProductInput", {"name": "t", "price": 1.5, "currency": "EUR"}, "name", admin),
        ("createProduct", "CreateProductInput", {"name": "n", "price": 1.5, "currency": "t"}, "currency", admin),
        ("addGif", "AddGifInput", {"title": "t", "url": "https://example.com/a.gif"}, "title", admin),
        ("addGif", "AddGifInput", {"title": "n", "url": "t"}, "url", admin),
        ("addGif", "AddGifInput", {"title": "n", "url": "https://example.com/a.gif", "previewUrl": "t"},
         "previewUrl", admin),
        ("createConnector", "CreateConnectorInput", {"name": "t", "kind": "WEBHOOK", "openChannelId": channel,
                                                    "callbackUrl": "http://127.0.0.1:9/h"}, "name", admin),
        ("createConnector", "CreateConnectorInput", {"name": "n", "kind": "WEBHOOK", "openChannelId": channel,
                                                    "callbackUrl": "t"}, "callbackUrl", admin),
        ("createConnector", "CreateConnectorInput", {"name": "n", "kind": "TELEGRAM", "openChannelId": channel,
                                                    "telegramBotToken": "t"}, "telegramBotToken", admin),
        ("createConnector", "CreateConnectorInput", {"name": "n", "kind": "TELEGRAM", "openChannelId": channel,
                                                    "telegramBotToken": "123:abc", "telegramApiUrl": "t"},
         "telegramApiUrl", admin),
    ]


def _spoil(input: dict[str, Any], field: str, value: str) -> dict[str, Any]:
    return {**input, field: value}


@pytest.mark.parametrize("bad", ["nul", "lone-surrogate", "one-megabyte"])
async def test_unstorable_or_huge_text_is_refused_and_changes_nothing(world: World, http_client: httpx.AsyncClient,
                                                                      bad: str) -> None:
    value = {"nul": NUL, "lone-surrogate": LONE_SURROGATE, "one-megabyte": ONE_MEGABYTE}[bad]
    failures = []
    for mutation, input_type, input, field, token in _text_targets(world):
        before = await world.row_counts()
        try:
            payload = await mutate(world, http_client, mutation, input_type, _spoil(input, field, value), token)
        except AssertionError as failure:
            failures.append(f"{mutation}.{field}: {str(failure)[:3000]}")
            continue
        after = await world.row_counts()
        if not any(e["code"] == "INVALID_INPUT" and e["field"] == ["input", field] for e in payload["userErrors"]):
            failures.append(f"{mutation}.{field}: not refused as INVALID_INPUT on input.{field}: {payload}")
        if before != after:
            changed = {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
            failures.append(f"{mutation}.{field}: the database changed: {changed}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", sorted(UNUSUAL_TEXTS))
async def test_unusual_unicode_is_stored_as_sent(world: World, http_client: httpx.AsyncClient, name: str) -> None:
    text = UNUSUAL_TEXTS[name]
    operator, chat = world.operator, world.id("Chat")
    sent = await mutate(world, http_client, "sendMessage", "SendMessageInput", {"chatId": chat, "text": text},
                        operator.token, "message { id text }")
    assert sent["userErrors"] == [] and sent["message"]["text"] == text
    renamed = await mutate(world, http_client, "renameChat", "RenameChatInput", {"chatId": chat, "title": text},
                           operator.token, "chat { title }")
    assert renamed["userErrors"] == [] and renamed["chat"]["title"] == text
    read = await post(world, http_client, "query ($id: ID!) { node(id: $id) { ... on Message { text html } } }",
                      {"id": sent["message"]["id"]}, operator.token)
    assert read["data"]["node"]["text"] == text
    assert "\u202e" not in text or "\u202e" in read["data"]["node"]["html"]  # kept in the HTML as text


async def test_a_100k_character_title_is_refused(world: World, http_client: httpx.AsyncClient) -> None:
    chat = world.id("Chat")
    before = await post(world, http_client, "query ($id: ID!) { chat(id: $id) { title } }", {"id": chat},
                        world.operator.token)
    payload = await mutate(world, http_client, "renameChat", "RenameChatInput", {"chatId": chat, "title": "T" * 100_000},
                           world.operator.token)
    refused(payload)
    assert payload["userErrors"][0]["field"] == ["input", "title"]
    after = await post(world, http_client, "query ($id: ID!) { chat(id: $id) { title } }", {"id": chat},
                       world.operator.token)
    assert after == before


@pytest.mark.parametrize("bad", ["nul", "lone-surrogate", "one-megabyte"])
async def test_search_arguments_with_hostile_text_are_refused(world: World, http_client: httpx.AsyncClient,
                                                                   bad: str) -> None:
    value = {"nul": NUL, "lone-surrogate": LONE_SURROGATE, "one-megabyte": ONE_MEGABYTE}[bad]
    queries = [
        "query ($s: String!) { searchMessages(query: $s, first: 5) { totalCount } }",
        "query ($s: String!) { products(search: $s) { id } }",
        "query ($s: String!) { cannedResponses(search: $s) { id } }",
        "query ($s: String!) { searchGifs(query: $s) { id } }",
        "query ($s: String!) { conversations(first: 5, after: $s) { totalCount } }",
        "query ($s: String!) { conversations(first: 5, filter: {search: $s}) { totalCount } }",
        "query ($s: String!) { conversations(last: 5, before: $s) { totalCount } }",
        "query ($s: String!) { feed(first: 5, after: $s) { id } }",
    ]
    for query in queries:
        body = await post(world, http_client, query, {"s": value}, world.operator.token)
        codes = [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]
        assert codes == ["INVALID_INPUT"], (query, body)


# --------------------------------------------------------------------------- numbers beyond 64 bits

#: page sizes nested three deep: their product passes 2^64 even with 32-bit Ints
NESTED_PAGES = """query($a: Int, $b: Int, $c: Int) { conversations(first: $a) { edges { node {
  client { chats(first: $b) { edges { node { messages(first: $c) { edges { node { text } } } } } } } } } } }"""
HUGE_PAGE_SIZES = {"beyond-64-bits": {"a": 2**70}, "product-beyond-64-bits": {"a": 2**31 - 1, "b": 2**31 - 1,
                                                                             "c": 2**31 - 1}}


def _refused_as_too_complex(errors: list[dict[str, Any]]) -> None:
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    assert codes == {"INVALID_INPUT", "QUERY_TOO_COMPLEX"}, errors
    cost = next(e for e in errors if e["extensions"].get("limit") == "cost")
    assert cost["extensions"]["maximum"] < cost["extensions"]["actual"] < 2**63, cost


@pytest.mark.parametrize("sizes", sorted(HUGE_PAGE_SIZES))
async def test_page_sizes_beyond_64_bits_get_a_clear_error_over_http(world: World, http_client: httpx.AsyncClient,
                                                                   sizes: str) -> None:
    """orjson cannot encode an integer beyond 64 bits: the QUERY_TOO_COMPLEX error quoting such a cost was a 500."""
    body = await post(world, http_client, NESTED_PAGES, HUGE_PAGE_SIZES[sizes], world.operator.token)
    assert body.get("data") is None
    _refused_as_too_complex(body["errors"])


async def test_an_error_quoting_a_lone_surrogate_is_encoded_over_http(world: World,
                                                                     http_client: httpx.AsyncClient) -> None:
    """graphql-core quotes a bad enum value in its message, and orjson refuses a lone surrogate as it
    refuses a 65-bit integer: the answer is encoded all the same (with the surrogate escaped)."""
    body = await post(world, http_client, "query ($o: ConversationOrder) { conversations(first: 1, orderBy: $o) "
                                          "{ totalCount } }", {"o": LONE_SURROGATE}, world.operator.token)
    assert body.get("data") is None and LONE_SURROGATE in body["errors"][0]["message"], body


async def test_a_page_size_beyond_64_bits_gets_an_answer_over_a_websocket(world: World) -> None:
    """Over graphql-transport-ws the same operation got no answer at all (the encoding failed)."""
    transport = WebsocketsTransport(url=world.deployment.server.ws_url, connect_timeout=EVENT_TIMEOUT,
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                    init_payload={"authorization": f"Bearer {world.operator.token}"},
                                    ack_timeout=EVENT_TIMEOUT, close_timeout=2)
    async with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError) as refused:
            # the timeout is no speed limit: the refusal comes at once, the defect was no answer ever
            await asyncio.wait_for(session.execute(GraphQLRequest(NESTED_PAGES, variable_values={"a": 2**70})),
                                   EVENT_TIMEOUT)
    _refused_as_too_complex(refused.value.errors)


# --------------------------------------------------------------------------- introspection

async def test_introspecting_the_schema_eight_times_in_one_request_is_refused(world: World,
                                                                            http_client: httpx.AsyncClient) -> None:
    """The 235-token anonymous request that returned 12.7 MiB in 7.8 s: refused before it runs; one
    standard introspection, as GraphiQL sends it, is answered."""
    selection = "types { name fields { name type { name fields { name type { name } } } } }"
    query = "{ " + " ".join(f"a{i}: __schema {{ {selection} }}" for i in range(8)) + " }"
    body = await post(world, http_client, query)
    assert body.get("data") is None
    assert [(e["extensions"]["code"], e["extensions"]["limit"]) for e in body["errors"]] == [
        ("QUERY_TOO_COMPLEX", "introspection")]
    standard = await post(world, http_client, graphql.get_introspection_query())
    assert graphql.build_client_schema(standard["data"]).query_type.name == "Query"


# --------------------------------------------------------------------------- nesting

async def test_deeply_nested_input_lists_are_refused_before_execution(world: World,
                                                                        http_client: httpx.AsyncClient) -> None:
    """Inputs nest at most two levels (createChatOrder's items); deeper values are refused by
    validation, and a document nested thousands of levels deep is refused without a crash."""
    before = await world.row_counts()
    deep_value = "[" * 5000 + '"x"' + "]" * 5000
    deep_object = "{items: " * 2000 + "[]" + "}" * 2000
    for query in [
        f'mutation {{ addChatParticipants(input: {{chatId: "{world.id("Chat")}", operatorIds: {deep_value}}}) '
        f"{{ {USER_ERRORS} }} }}",
        f'mutation {{ createChatOrder(input: {{chatId: "{world.id("Chat")}", items: [{deep_object}]}}) '
        f"{{ {USER_ERRORS} }} }}",
        "query { " + "me { operator { openChannels { operators { " * 300 + "id" + " } } } }" * 300 + " }",
    ]:
        body = await post(world, http_client, query, token=world.admin.token)
        assert body.get("errors") and not body.get("data"), str(body)[:500]
        assert all("path" not in e for e in body["errors"]), body["errors"]  # refused before execution
    query = json.dumps("mutation ($ids: [ID!]!) { addChatParticipants(input: "
                       f'{{chatId: "{world.id("Chat")}", operatorIds: $ids}}) {{ {USER_ERRORS} }} }}')
    deep_variables = '{"ids": ' + "[" * 5000 + '"x"' + "]" * 5000 + "}"  # json.dumps would recurse too deep
    answer = await http_client.post(world.url, content=f'{{"query": {query}, "variables": {deep_variables}}}',
                                    headers={"Content-Type": "application/json",
                                             "Authorization": f"Bearer {world.admin.token}"})
    assert answer.status_code < 500, answer.text[:500]
    if answer.status_code == 200:
        body = answer.json()
        assert body.get("errors") and not body.get("data"), str(body)[:500]
        assert all((e.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR" for e in body["errors"])
    assert await world.row_counts() == before


# --------------------------------------------------------------------------- IDs

def _bad_ids(type_name: str, world: World) -> dict[str, str]:
    """Every kind of wrong value for an ID argument that expects `type_name` (or any type: "")."""
    other = "OpenChannel" if type_name != "OpenChannel" else "Chat"
    other_id = world.ids.get(other, ["x"])[0]
    target = type_name or "Chat"
    return {
        "wrong-type": other_id if type_name else to_global_id("Nope", 1),
        "not-base64": "%%%not*base64%%%",
        "negative": to_global_id(target, -1),
        "zero": to_global_id(target, 0),
        "beyond-int32": to_global_id(target, MAX_PK + 1),
        "beyond-int64": to_global_id(target, 2**64),
        "huge-number": to_global_id(target, 10**60),
        "digits-not-ascii": _b64(f"{target}:\u0661\u0662"),
        "empty": "",
        "nul": "\x00",
        "lone-surrogate": "\ud800",
        "long": "Q" * 100_000,
        "missing": to_global_id(target, MAX_PK),
    }


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


#: argument path (root field, then input field names) -> the type its IDs name
ID_TYPES = {
    "chatid": "Chat", "messageid": "Message", "replytomessageid": "Message", "quotemessageid": "Message",
    "operatorid": "Operator", "operatorids": "Operator", "mentionoperatorids": "Operator", "responsibleid": "Operator",
    "openchannelid": "OpenChannel", "openchannelids": "OpenChannel", "clientid": "Client",
    "cannedresponseid": "CannedResponse", "productid": "Product", "connectorid": "Connector",
    "attachmentids": "Attachment", "id": "",
}


def _sample(type_: graphql.GraphQLInputType, name: str, world: World) -> Any:
    """A valid-looking value of an input type (IDs: a real object of the type its name says)."""
    named = graphql.get_named_type(type_)
    if isinstance(named, graphql.GraphQLInputObjectType):
        value = {n: _sample(f.type, n, world) for n, f in named.fields.items()
                 if graphql.is_non_null_type(f.type) and f.default_value is graphql.Undefined}
    elif named.name == "ID":
        type_name = ID_TYPES.get(name.lower(), "")
        value = world.ids.get(type_name or "Chat", ["x"])[0]
    else:
        value = {"String": "sample", "Int": 1, "Float": 1.5, "Boolean": True,
                 "DateTime": "2030-01-01T00:00:00+00:00"}.get(named.name)
        if isinstance(named, graphql.GraphQLEnumType):
            value = next(iter(named.values))
    if isinstance(graphql.get_nullable_type(type_), graphql.GraphQLList):
        return [value]
    return value


def _id_paths(type_: graphql.GraphQLInputType, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], bool]]:
    """Paths to every ID (or [ID]) under an argument, with whether it is a list."""
    named = graphql.get_named_type(type_)
    if isinstance(named, graphql.GraphQLInputObjectType):
        return [p for n, f in named.fields.items() for p in _id_paths(f.type, (*path, n))]
    if named.name == "ID":
        return [(path, isinstance(graphql.get_nullable_type(type_), graphql.GraphQLList))]
    return []


def _set(value: dict[str, Any], path: tuple[str, ...], leaf: Any) -> dict[str, Any]:
    if len(path) == 1:
        return {**value, path[0]: leaf}
    inner = value.get(path[0])
    inner = inner[0] if isinstance(inner, list) else (inner or {})
    spoiled = _set(inner, path[1:], leaf)
    return {**value, path[0]: [spoiled] if isinstance(value.get(path[0]), list) else spoiled}


def _id_cases(world: World, schema: graphql.GraphQLSchema) -> list[tuple[str, str, dict[str, Any], tuple[str, ...], bool]]:
    """(operation type, field, valid arguments, the path of one ID argument, is a list) for every ID argument."""
    cases = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for field_name, field in root.fields.items():
            arguments = {n: _sample(a.type, n, world) for n, a in field.args.items()
                         if graphql.is_non_null_type(a.type)}
            for argument_name, argument in field.args.items():
                for path, is_list in _id_paths(argument.type, (argument_name,)):
                    cases.append((operation, field_name, arguments, path, is_list))
    return cases


def _document(operation: str, field_name: str, field: graphql.GraphQLField, arguments: dict[str, Any]) -> str:
    declared = ", ".join(f"${n}: {a.type}" for n, a in field.args.items() if n in arguments)
    passed = ", ".join(f"{n}: ${n}" for n in field.args if n in arguments)
    result = graphql.get_named_type(field.type)
    if isinstance(result, (graphql.GraphQLObjectType, graphql.GraphQLInterfaceType, graphql.GraphQLUnionType)):
        selection = "{ __typename " + (USER_ERRORS if isinstance(result, graphql.GraphQLObjectType)
                                       and "userErrors" in result.fields else "")
        if isinstance(result, graphql.GraphQLObjectType) and "results" in result.fields:
            selection += f" results {{ {USER_ERRORS} }}"  # a bulk action: each chat's own result
        selection += " }"
    else:
        selection = ""
    head = f"{operation} ({declared})" if declared else operation
    return f"{head} {{ {field_name}{f'({passed})' if passed else ''} {selection} }}"


async def test_invalid_ids_of_every_id_argument_get_clean_answers(world: World,
                                                                   http_client: httpx.AsyncClient) -> None:
    """Every ID argument of every query and mutation (enumerated from the server's schema, so a
    new one cannot slip past) × every kind of bad ID: a clean answer (a query's too: an error with
    a code, not a null that reads like "nothing there"), and nothing changes."""
    introspection = await post(world, http_client, graphql.get_introspection_query(), token=world.admin.token)
    schema = graphql.build_client_schema(introspection["data"])
    cases = _id_cases(world, schema)
    assert len(cases) > 40, cases
    visitor_only = {"sendVisitorMessage", "rateChat"}
    failures: list[str] = []
    before = await world.row_counts()
    for operation, field_name, arguments, path, is_list in cases:
        root = schema.query_type if operation == "query" else schema.mutation_type
        field = root.fields[field_name]
        type_name = ID_TYPES.get(path[-1].lower(), "")
        token = world.visitor.token if field_name in visitor_only else world.admin.token
        for kind, bad in _bad_ids(type_name, world).items():
            spoiled = _set(arguments, path, [bad] if is_list else bad)
            body = await post(world, http_client, _document(operation, field_name, field, spoiled), spoiled, token)
            where = f"{field_name}({'.'.join(path)}) = {kind}"
            errors = body.get("errors") or []
            for error in errors:
                code = (error.get("extensions") or {}).get("code")
                if error.get("path") and code not in DOMAIN_CODES:
                    failures.append(f"{where}: an error without a domain code: {error}")
            result = (body.get("data") or {}).get(field_name)
            if operation == "mutation" and not errors:
                codes = [e["code"] for e in (result or {}).get("userErrors", [])]
                codes += [e["code"] for r in (result or {}).get("results") or [] for e in r.get("userErrors", [])]
                if field_name == "uploadFile":
                    continue  # refused for want of a file (the multipart part is tested in test_file_upload)
                if not codes:
                    failures.append(f"{where}: accepted: {result}")
                elif not set(codes) <= DOMAIN_CODES:
                    failures.append(f"{where}: {codes}")
            if operation == "query" and kind != "missing" and not errors:
                # a query says "not a valid ID" as the mutations do, not null (issue 14)
                failures.append(f"{where}: answered without an error: {result}")
            if operation == "query" and not errors and result not in (None, []) and kind != "wrong-type":
                if not (isinstance(result, dict) and result.get("__typename") in ("ChatConnection", "MessageConnection")):
                    failures.append(f"{where}: found something: {result}")
    assert not failures, "\n".join(failures)
    assert await world.row_counts() == before


# --------------------------------------------------------------------------- connector webhook

@pytest.mark.parametrize("spoil", ["text", "name", "message-id", "long-name"])
async def test_a_signed_webhook_with_unstorable_text_is_a_400_and_changes_nothing(
        world: World, http_client: httpx.AsyncClient, spoil: str) -> None:
    made = await mutate(world, http_client, "createConnector", "CreateConnectorInput",
                        {"name": "Hostile hook", "kind": "WEBHOOK", "openChannelId": world.id("OpenChannel"),
                         "callbackUrl": "http://127.0.0.1:9/hook"}, world.admin.token, "connector { id } secret")
    connector_pk = base64.urlsafe_b64decode(made["connector"]["id"] + "==").decode().partition(":")[2]
    event = {"messageId": "m-1", "from": {"id": "u-1", "name": "Ann"}, "text": "hello"}
    if spoil == "text":
        event["text"] = NUL
    elif spoil == "name":
        event["from"]["name"] = LONE_SURROGATE
    elif spoil == "message-id":
        event["messageId"] = NUL
    else:
        event["from"]["id"] = "u" * 100_000
    body = json.dumps(event).encode()
    timestamp = str(int(time.time()))
    before = await world.row_counts()
    answer = await http_client.post(
        f"{world.deployment.server.base_url}/connectors/{connector_pk}/events", content=body,
        headers={"Content-Type": "application/json", "X-OpenChannels-Timestamp": timestamp,
                 "X-OpenChannels-Signature": sign(made["secret"], timestamp, body)})
    assert answer.status_code == 400, (answer.status_code, answer.text[:500], world.server_log()[-3000:])
    assert await world.row_counts() == before
