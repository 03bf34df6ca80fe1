"""Direct runs of one root field (schema/direct_field.py): a prepared document whose selection is one
field runs its resolver and completes its value without graphql-core's executor, and answers exactly
as graphql-core does, errors and null propagation included, with the resolver run once."""
from __future__ import annotations

from functools import partial
from typing import Optional

import httpx
import pytest
import strawberry
from strawberry.relay import to_base64
from graphql import execute, parse
from strawberry.execution import optimized_is_awaitable

import schema.prepared_operations as prepared_operations
from infrastructure.lru import LRU
from schema import schema
from schema.direct_field import compile_direct, run_direct
from schema.plain_execution import PlainFieldExecutionContext
from schema.prepared_operations import PREPARED_SIZE, Prepared, PreparedOperations
from tests.engine import fast_path_only
from tests.engine.test_prepared_operations import _setup

#: B3's selection (bench/ingest.py) and the message's text: plain fields (a resolver field such as
#: `message { chat }` leaves the document to graphql-core's executor)
SEND = ("mutation Send($chat: ID!, $text: String!) { sendMessage(input: {chatId: $chat, text: $text}) "
        "{ message { id text silent } userErrors { code message field } } }")


@pytest.fixture
def direct_runs(monkeypatch):
    """What each prepared run's direct attempt gave: True (answered), False (graphql-core's path)."""
    assert schema.prepared is not None
    monkeypatch.setattr(schema.prepared, "_prepared", LRU(PREPARED_SIZE))
    runs: list[bool] = []

    async def counted(*args, **kwargs):
        answer = await run_direct(*args, **kwargs)
        runs.append(answer is not None)
        return answer

    monkeypatch.setattr(prepared_operations, "run_direct", counted)
    return runs


@fast_path_only
async def test_a_repeated_send_message_runs_directly_and_answers_as_strawberry(db, database_url, platform, direct_runs):
    app, headers, chat = await _setup(database_url, platform)
    aliased = SEND.replace("sendMessage(", "sent: sendMessage(")
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            answers = [await api.post("/graphql", json={"query": query, "variables": {"chat": chat, "text": f"hi {i}"}},
                                      headers=headers) for query in (SEND, aliased) for i in range(3)]
            refused = [await api.post("/graphql", json={"query": SEND.replace("mutation Send", "mutation Refused"),
                                                        "variables": {"chat": to_base64("Chat", 10 ** 6), "text": "x"}},
                                      headers=headers) for _ in range(2)]
            anonymous = [await api.post("/graphql", json={"query": SEND.replace("mutation Send", "mutation Anonymous"),
                                                          "variables": {"chat": chat, "text": "who"}}) for _ in range(2)]
            history = await api.post("/graphql", headers=headers, json={
                "query": "query($chat: ID!) { chat(id: $chat) { messages(first: 20) { edges { node { text } } } } }",
                "variables": {"chat": chat}})
    # the first of each document ran Strawberry's steps; the others ran directly
    assert direct_runs == [True] * 6
    for index, answer in enumerate(answers):
        key = "sendMessage" if index < 3 else "sent"
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        payload = answer.json()["data"][key]
        assert payload["userErrors"] == []
        assert payload["message"]["text"] == f"hi {index % 3}"
        assert payload["message"]["silent"] is False
    # a userError: the same answer on both paths (Strawberry's first, then the direct run)
    assert refused[0].json() == refused[1].json()
    assert refused[1].json()["data"]["sendMessage"]["userErrors"][0]["code"] == "NOT_FOUND"
    # a top-level error (no token): the resolver raised, graphql-core completed it, the same answer
    assert anonymous[0].json() == anonymous[1].json()
    assert anonymous[1].json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert anonymous[1].json()["errors"][0]["path"] == ["sendMessage"]
    # each message written once
    texts = [edge["node"]["text"] for edge in history.json()["data"]["chat"]["messages"]["edges"]]
    assert sorted(text for text in texts if text.startswith("hi ")) == sorted(f"hi {i % 3}" for i in range(6))


# ---------------------------------------------------------------- a small schema of its own


@strawberry.type
class Item:
    name: str
    note: Optional[str] = None


@strawberry.type
class ItemPayload:
    item: Optional[Item]
    count: int


CALLS: list[str] = []


@strawberry.type
class Query:
    @strawberry.field
    def ping(self) -> str:
        return "pong"


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def add(self, name: str, times: int = 1) -> ItemPayload:
        CALLS.append(name)
        if name == "boom":
            raise ValueError("it broke")
        # a null name: graphql-core's "Cannot return null for non-nullable field" below
        return ItemPayload(item=Item(name=None if name == "nameless" else name), count=times)  # type: ignore[arg-type]

    @strawberry.mutation
    async def maybe(self, name: str) -> Optional[ItemPayload]:
        CALLS.append(name)
        return None

    @strawberry.mutation
    async def many(self, name: str) -> list[Item]:
        return [Item(name=name)]


SMALL = strawberry.Schema(query=Query, mutation=Mutation, execution_context_class=PlainFieldExecutionContext)
ADD = "mutation($name: String!, $times: Int) { add(name: $name, times: $times) { item { name note } count } }"


async def _graphql_core(document: str, variables: dict) -> dict:
    """What graphql-core's own execution answers (the prepared path's)."""
    executed = execute(SMALL._schema, parse(document), variable_values=variables, is_awaitable=optimized_is_awaitable,
                       executor_class=PlainFieldExecutionContext)
    executed = await executed if optimized_is_awaitable(executed) else executed
    return executed.formatted


async def _direct(document: str, variables: dict) -> dict | None:
    """The direct run's answer, or None when it left the request to graphql-core's path."""
    parsed = parse(document)
    executor = PlainFieldExecutionContext.build(SMALL._schema, parsed, None, None, {"name": "a"}, None,
                                                is_awaitable=optimized_is_awaitable)
    direct = compile_direct(SMALL._schema, parsed, None, executor)
    assert direct is not None
    operations = PreparedOperations(PlainFieldExecutionContext)
    operations.schema = SMALL._schema
    prepared = Prepared(parsed, None, "mutation", False)
    answer = await run_direct(direct, schema=SMALL._schema, root=None, variables=variables, context=None,
                              hide_suggestions=False,
                              complete=partial(operations._graphql_core, prepared, None, variables, None))
    return None if answer is None else {"data": answer.data, **({"errors": [e.formatted for e in answer.errors]}
                                                                 if answer.errors else {})}


@pytest.mark.parametrize("document, variables", [
    (ADD, {"name": "a", "times": 2}),  # planned: the direct answer
    (ADD, {"name": "a"}),  # a nullable variable left out: the argument's default
    (ADD, {"name": "boom"}),  # the resolver raised: located at the field, data null (the field is non-null)
    (ADD, {"name": "nameless"}),  # null in a non-null field: the error at item.name, item null
    ("mutation($name: String!) { maybe(name: $name) { count } }", {"name": "m"}),  # a nullable field's null
    ("mutation { renamed: add(name: \"lit\") { count item { name } } }", {}),  # an alias, a literal
])
async def test_a_direct_run_answers_as_graphql_core_and_runs_the_resolver_once(document, variables):
    CALLS.clear()
    expected = await _graphql_core(document, variables)
    assert len(CALLS) == 1
    CALLS.clear()
    assert await _direct(document, variables) == expected
    assert len(CALLS) == 1  # the fallback completes what the resolver gave: it is not run again


async def test_a_type_check_that_raises_is_reported_by_graphql_core_after_one_run(monkeypatch):
    """The payload type's is_type_of raising (a type resolved by a check of its own): graphql-core
    completes the value, asks the check again and locates the error at the field, as its own path
    does; the resolver ran once."""
    payload_type = SMALL._schema.mutation_type.fields["add"].type.of_type

    def refuses(value, info):
        raise ValueError("cannot tell the type")

    monkeypatch.setattr(payload_type, "is_type_of", refuses)
    CALLS.clear()
    expected = await _graphql_core(ADD, {"name": "a"})
    assert expected["errors"][0]["message"] == "cannot tell the type" and expected["errors"][0]["path"] == ["add"]
    CALLS.clear()
    assert await _direct(ADD, {"name": "a"}) == expected
    assert CALLS == ["a"]


@pytest.mark.parametrize("variables", [{"name": 5}, {}, {"name": "a", "times": "two"}])
async def test_variables_graphql_core_refuses_run_nothing_directly(variables):
    CALLS.clear()
    assert await _direct(ADD, variables) is None  # graphql-core's path reports them
    assert CALLS == []


@pytest.mark.parametrize("document", [
    "mutation { add(name: \"a\") { count } other: add(name: \"b\") { count } }",  # two root fields
    "mutation($yes: Boolean!) { add(name: \"a\") { count @include(if: $yes) } }",  # a directive
    "mutation { __typename }",  # a meta field
    "mutation { many(name: \"a\") { name } }",  # a list
    "query { ping }",  # a scalar
])
def test_documents_that_do_not_qualify(document):
    parsed = parse(document)
    executor = PlainFieldExecutionContext.build(SMALL._schema, parsed, None, None, {"yes": True}, None,
                                                is_awaitable=optimized_is_awaitable)
    assert compile_direct(SMALL._schema, parsed, None, executor) is None


def test_a_completion_by_graphql_core_after_a_direct_run_still_plans_the_objects_below():
    """The fallback's middleware acts on the root field only: objects below keep their plans (an
    extension's middleware, which must see every field, turns them off)."""
    from graphql.execution.collect_fields import FieldDetails

    from schema.direct_field import _Resolved
    parsed = parse(ADD)
    node = parsed.definitions[0].selection_set.selections[0]
    payload_type = SMALL._schema.mutation_type.fields["add"].type.of_type

    def plan_with(middleware):
        executor = PlainFieldExecutionContext.build(SMALL._schema, parsed, None, None, {"name": "a"}, None,
                                                    middleware=middleware, is_awaitable=optimized_is_awaitable)
        return executor.plan_root_field(payload_type, [FieldDetails(node, None)])

    assert plan_with([_Resolved("add", value=None)]) is not None
    assert plan_with([lambda next_, root, info, **arguments: next_(root, info, **arguments)]) is None


def _compiled(document: str, variables: dict, on=None):
    on = on or SMALL._schema
    parsed = parse(document)
    executor = PlainFieldExecutionContext.build(on, parsed, None, None, variables, None,
                                                is_awaitable=optimized_is_awaitable)
    direct = compile_direct(on, parsed, None, executor)
    assert direct is not None
    return direct


@pytest.mark.parametrize("document, variables", [
    (SEND, {"chat": "Q2hhdDox", "text": "hello"}),  # B3's: an input object of two variables
    ("mutation($name: String!) { add(name: $name, times: 3) { count } }", {"name": "a"}),  # a literal beside
    ("mutation { add(name: \"lit\") { count } }", {}),  # no variables: the default of `times` too
])
def test_arguments_of_required_variables_are_built_from_a_template_as_graphql_core_builds_them(document, variables):
    """A document whose variables are all required gets its arguments from a template made once,
    equal to what graphql-core's get_argument_values gives for each request, with dicts of their own."""
    from graphql import get_argument_values, get_variable_values

    on = schema._schema if document is SEND else SMALL._schema
    direct = _compiled(document, variables, on)
    assert direct.arguments is not None
    coerced = get_variable_values(on, direct.operation.variable_definitions or (), variables)
    expected = get_argument_values(direct.field_def, direct.field_nodes[0], coerced)
    first, second = direct.arguments(coerced.coerced), direct.arguments(coerced.coerced)
    assert first == expected == second
    if document is SEND:
        assert first["input"]["chatId"] == "Q2hhdDox" and first["input"]["text"] == "hello"
        assert first["input"]["silent"] is False  # the input's defaults, as graphql-core fills them
        assert first["input"] is not second["input"]  # a resolver may keep or change what it is given


def test_arguments_of_a_nullable_variable_are_left_to_graphql_core():
    """`$times: Int` may be null or left out, which changes what graphql-core builds: no template."""
    assert _compiled(ADD, {"name": "a"}).arguments is None
