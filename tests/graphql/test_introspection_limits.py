"""Introspection is measured like any other selection (schema/limits.py), and an operation
introspects the schema once: eight aliased `__schema { types { ... } }` returned 12.7 MiB in
7.8 s and stalled the process. Clients' standard introspection queries still pass.

Through the real schema, in-process (no database: the limits refuse before any resolver).
"""
from __future__ import annotations

import pytest
from graphql import build_client_schema, get_introspection_query

from tests.graphql.helpers import execute_raw

TYPES_WITH_FIELDS = "types { name fields { name type { name fields { name type { name } } } } }"


def _codes(result) -> list[tuple[str | None, str | None]]:
    return [((e.extensions or {}).get("code"), (e.extensions or {}).get("limit")) for e in result.errors or []]


@pytest.mark.parametrize("options", [
    {},  # graphql-core's default (type_depth 9): GraphiQL's and gql's query
    {"descriptions": False, "type_depth": 7},  # graphql-js 16's getIntrospectionQuery (Apollo, urql)
    {"specified_by_url": True, "directive_is_repeatable": True, "schema_description": True,
     "input_value_deprecation": True, "one_of": True},
], ids=["default", "graphql-js-16", "every-option"])
async def test_a_clients_standard_introspection_query_still_passes(options):
    result = await execute_raw(get_introspection_query(**options))
    assert result.errors is None, result.errors
    client_schema = build_client_schema(result.data)  # what GraphiQL and gql do with the answer
    assert client_schema.query_type.name == "Query" and "chat" in client_schema.query_type.fields


async def test_eight_aliased_schema_introspections_are_refused_before_execution():
    query = "{ " + " ".join(f"a{i}: __schema {{ {TYPES_WITH_FIELDS} }}" for i in range(8)) + " }"
    result = await execute_raw(query)
    assert result.data is None
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "introspection")]
    assert result.errors[0].extensions["maximum"] == 1 and result.errors[0].extensions["actual"] == 8


async def test_one_schema_and_one_type_introspection_are_two():
    result = await execute_raw('{ __schema { queryType { name } } __type(name: "Chat") { name } }')
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "introspection")]
    assert (await execute_raw('{ __type(name: "Chat") { name fields { name } } }')).errors is None


async def test_introspection_in_a_fragment_counts_where_the_fragment_is_spread():
    query = ("fragment S on Query { __schema { types { name } } } "
             "{ ...S a: __typename ... on Query { ...S } }")
    result = await execute_raw(query)
    assert _codes(result) == [("QUERY_TOO_COMPLEX", "introspection")]


async def test_introspection_fields_count_in_depth_aliases_and_cost():
    nested = "{ name fields { name type " * 8 + "{ name }" + " } }" * 8
    deep = await execute_raw(f'{{ __type(name: "Chat") {nested} }}')
    assert ("QUERY_TOO_COMPLEX", "depth") in _codes(deep)
    aliased = await execute_raw("{ __schema { " + " ".join(f"t{i}: types {{ name }}" for i in range(31)) + " } }")
    assert ("QUERY_TOO_COMPLEX", "aliases") in _codes(aliased)
    # types, their fields, each field's arguments, the fields of each argument's type:
    # 10 + 10·(10 + 10·(10 + 10·10)) = 11,110 (graphql-core's own introspection depth rule allows it)
    costly = await execute_raw("{ __schema { types { fields { args { type { fields { name } } } } } } }")
    assert _codes(costly) == [("QUERY_TOO_COMPLEX", "cost")]
    assert costly.errors[0].extensions["actual"] == 11_110

