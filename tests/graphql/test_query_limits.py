"""Query limits (schema/limits.py): an operation over a limit is refused before any resolver runs.

Through the real schema, in-process; the same limits over HTTP are in tests/compliance.
"""
from __future__ import annotations

import asyncio
import time

import pytest
from graphql import get_named_type

from models import Operator
from schema import build_schema, schema
from schema.limits import PAGINATED_FIELDS
from resolvers.context import Context
from tests.factories import make_admin
from tests.graphql.helpers import execute, execute_raw

CONVERSATIONS_WITH_MESSAGES = """query($chats: Int, $messages: Int) {
  conversations(first: $chats) { edges { node { id messages(first: $messages) { edges { node { text } } } } } }
}"""


def _codes(result) -> list[tuple[str | None, str | None]]:
    return [((e.extensions or {}).get("code"), (e.extensions or {}).get("limit")) for e in result.errors or []]


async def _refused_without_sql(count_queries, query: str, viewer, **variables):
    with count_queries() as counter:
        result = await execute_raw(query, viewer, **variables)
    assert result.data is None
    assert counter.count == 0, counter.statements
    return result


def test_every_page_argument_of_the_schema_is_bounded():
    """Every field taking `first`, `last` or `limit` is in PAGINATED_FIELDS (a new one cannot slip past)."""
    paged = set()
    for type_ in schema._schema.type_map.values():
        for name, field in (getattr(type_, "fields", None) or {}).items() if not type_.name.startswith("__") else ():
            if getattr(field, "args", None) and {"first", "last", "limit"} & set(field.args):
                paged.add(f"{type_.name}.{name}")
    assert paged == set(PAGINATED_FIELDS)
    for coordinate, bounds in PAGINATED_FIELDS.items():
        type_name, field_name = coordinate.split(".")
        args = schema._schema.type_map[type_name].fields[field_name].args
        assert set(bounds.arguments) <= set(args), coordinate
        assert bounds.minimum <= bounds.default <= bounds.maximum <= 100


@pytest.mark.parametrize("coordinate", sorted(PAGINATED_FIELDS))
async def test_a_page_over_the_maximum_is_refused_before_any_sql(db, count_queries, coordinate):
    _, admin = await make_admin()
    bounds = PAGINATED_FIELDS[coordinate]
    type_name, field_name = coordinate.split(".")
    argument = bounds.arguments[0]
    returned = get_named_type(schema._schema.type_map[type_name].fields[field_name].type)
    leaf = "totalCount" if "totalCount" in getattr(returned, "fields", {}) else "__typename"
    required = {"searchMessages": '(query: "x", ', "searchGifs": '(query: "x", ',
                "webhookDeliveries": '(webhookId: "V2ViaG9vazox", '}.get(field_name, "(")
    inner = f"{field_name}{required}{argument}: $n) {{ {leaf} }}"
    query = {
        "Query": f"query($n: Int) {{ {inner} }}",
        "Chat": f'query($n: Int) {{ chat(id: "Q2hhdDox") {{ {inner} }} }}',
        "Client": f'query($n: Int) {{ client(id: "Q2xpZW50OjE=") {{ {inner} }} }}',
    }[type_name]

    for size in (bounds.maximum + 1, bounds.minimum - 1, 10**6):
        result = await _refused_without_sql(count_queries, query, admin, n=size)
        assert _codes(result)[0] == ("INVALID_INPUT", None)
        assert str(bounds.maximum) in result.errors[0].message and coordinate in result.errors[0].message


async def test_the_cost_multiplies_page_sizes_along_the_nesting_with_variables(db, count_queries):
    _, admin = await make_admin()
    # 100 conversations + 100 x 100 messages = 10,100 items > 10,000
    result = await _refused_without_sql(count_queries, CONVERSATIONS_WITH_MESSAGES, admin, chats=100, messages=100)
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "cost")]
    assert result.errors[0].extensions["actual"] == 10_100 and result.errors[0].extensions["maximum"] == 10_000
    # the same document with smaller pages runs
    data = await execute(CONVERSATIONS_WITH_MESSAGES, admin, chats=100, messages=50)
    assert data == {"conversations": {"edges": []}}
    # without `first`, a connection counts its default page (50): 50 + 50 x 100 is allowed
    data = await execute(CONVERSATIONS_WITH_MESSAGES, admin, messages=100)
    assert data == {"conversations": {"edges": []}}


async def test_a_variable_default_counts_when_the_variable_is_not_sent(db, count_queries):
    _, admin = await make_admin()
    query = CONVERSATIONS_WITH_MESSAGES.replace("$chats: Int", "$chats: Int = 100").replace(
        "$messages: Int", "$messages: Int = 100")
    result = await _refused_without_sql(count_queries, query, admin)
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "cost")]


async def test_depth_aliases_and_root_fields_are_limited(db, count_queries):
    _, admin = await make_admin()
    deep = "{ me { operator { openChannels { operators { openChannels { operators { openChannels { operators " \
           "{ openChannels { operators { openChannels { operators { openChannels { operators { openChannels " \
           "{ name } } } } } } } } } } } } } } } }"
    result = await _refused_without_sql(count_queries, deep, admin)
    assert ("QUERY_TOO_COMPLEX", "depth") in _codes(result)
    assert result.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX", "limit": "depth", "maximum": 15, "actual": 16}

    aliases = "{ me { " + " ".join(f"a{i}: unreadCount" for i in range(31)) + " } }"
    result = await _refused_without_sql(count_queries, aliases, admin)
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "aliases")]

    roots = "{ smileys { code } " + " ".join(f"r{i}: smileys {{ code }}" for i in range(20)) + " }"
    result = await _refused_without_sql(count_queries, roots, admin)
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "rootFields")]

    allowed = "{ " + " ".join(f"r{i}: smileys {{ code }}" for i in range(20)) + " }"
    assert len(await execute(allowed, admin)) == 20


async def test_a_mutation_over_a_limit_changes_nothing(db, count_queries):
    _, admin = await make_admin()
    before = await Operator.all().count()
    mutation = "mutation { " + " ".join(
        f'm{i}: createOperator(input: {{name: "M {i}", email: "m{i}@limits.test"}}) {{ operator {{ id }} }}'
        for i in range(21)) + " }"
    result = await _refused_without_sql(count_queries, mutation, admin)
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "rootFields")]
    assert await Operator.all().count() == before


async def test_too_many_tokens_stop_the_parser(db):
    _, admin = await make_admin()
    query = "{ me { " + " ".join(["unreadCount"] * 2_000) + " } }"
    result = await execute_raw(query, admin)
    assert result.data is None
    assert result.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX", "limit": "tokens", "maximum": 2_000}


async def test_fragments_are_measured_where_they_are_spread_and_a_fragment_bomb_is_cheap(db, count_queries):
    _, admin = await make_admin()
    # a fragment used in 2 places under a 100-item page: counted for each spread
    spread = """query { conversations(first: 100) { edges { node { ...M } } } }
      fragment M on Chat { a: messages(first: 60) { totalCount } b: messages(first: 60) { totalCount } }"""
    result = await _refused_without_sql(count_queries, spread, admin)
    assert result.errors[0].extensions["actual"] == 100 + 100 * 120

    # each fragment spreads the next one twice: 2**20 paths, measured in linear time
    fragments = " ".join(f"fragment F{i} on Me {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20))
    bomb = f"query {{ me {{ ...F0 }} }} {fragments} fragment F20 on Me {{ operator {{ openChannels {{ id }} }} }}"
    started = time.monotonic()
    result = await _refused_without_sql(count_queries, bomb, admin)
    assert time.monotonic() - started < 2
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "cost")]
    assert result.errors[0].extensions["actual"] == 10 * 2**20  # openChannels: a plain list, 10 items each


async def test_a_subscription_over_a_limit_is_refused_before_it_starts(db, count_queries):
    _, admin = await make_admin()
    nested = "operators { openChannels { " * 5 + "name" + " } }" * 5
    subscription = f"subscription {{ queueChanged {{ chat {{ openChannel {{ {nested} }} }} }} }}"
    with count_queries() as counter:
        stream = await schema.subscribe(subscription, context_value=Context(viewer=admin))
        first = await asyncio.wait_for(stream.__anext__(), timeout=5)
        await stream.aclose()
    assert first.data is None
    assert _codes(first) == [("QUERY_TOO_COMPLEX", "cost")]
    assert counter.count == 0


async def test_a_fault_while_measuring_is_masked_and_logged(monkeypatch, caplog):
    """A bug in the limits must not leak its message to the client: masked, with a request id."""
    from schema import limits as limits_module

    def broken(self):
        raise RuntimeError("secret detail of the fault")

    monkeypatch.setattr(limits_module._Walker, "measure", broken)
    result = await build_schema().execute("{ __typename }")
    [error] = result.errors
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret detail" not in error.message and error.extensions["requestId"] in error.message
    assert "secret detail of the fault" in caplog.text


async def test_page_sizes_beyond_64_bits_get_a_clear_error_that_encodes(db, count_queries):
    """Page sizes sent as variables are unbounded integers (the limits read them before graphql-core
    coerces them to 32-bit Ints): their product saturates, and the error is one orjson encodes."""
    import orjson
    from schema.limits import MEASURE_CEILING

    _, admin = await make_admin()
    nested = """query($a: Int, $b: Int, $c: Int) { conversations(first: $a) { edges { node {
      client { chats(first: $b) { edges { node { messages(first: $c) { edges { node { text } } } } } } } } } } }"""
    for variables in ({"a": 2**70}, {"a": 2**31 - 1, "b": 2**31 - 1, "c": 2**31 - 1}):
        result = await _refused_without_sql(count_queries, nested, admin, **variables)
        codes = _codes(result)
        assert ("INVALID_INPUT", None) in codes and ("QUERY_TOO_COMPLEX", "cost") in codes, codes
        cost = next(e for e in result.errors if (e.extensions or {}).get("limit") == "cost")
        assert cost.extensions["actual"] == MEASURE_CEILING
        orjson.dumps([error.formatted for error in result.errors])  # what the server sends
