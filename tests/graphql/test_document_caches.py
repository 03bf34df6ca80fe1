"""Documents are parsed and validated once per text (Strawberry's ParserCache and ValidationCache,
schema/__init__.py); a text that does not parse gets Strawberry's usual syntax error, the token
limit still applies, and the query limits, which depend on the variables, are checked on every
request (their measure remembered per document and page sizes)."""
from __future__ import annotations

from collections.abc import Iterator

from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

from schema import build_schema, limits
from schema.limits import QueryLimits, ValidationResults
from resolvers.context import Context


class _SeenDocuments(SchemaExtension):
    seen: list = []

    def on_validate(self) -> Iterator[None]:
        _SeenDocuments.seen.append(self.execution_context.graphql_document)
        yield


class _CountingRule(ASTValidationRule):
    made = 0

    def __init__(self, context) -> None:
        super().__init__(context)
        _CountingRule.made += 1


class _CountValidations(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, _CountingRule)
        yield


async def test_a_document_is_parsed_and_validated_once_per_text():
    schema = build_schema(tracing=(_SeenDocuments, _CountValidations))
    _SeenDocuments.seen, _CountingRule.made = [], 0
    for _ in range(3):
        assert (await schema.execute("{ __typename }")).data == {"__typename": "Query"}
    for _ in range(3):
        result = await schema.execute("{ noSuchField }")
        assert [e.message for e in result.errors] == ["Cannot query field 'noSuchField' on type 'Query'."]
    first, *others = _SeenDocuments.seen[:3]
    assert all(document is first for document in others)  # one syntax tree for the three requests
    assert _CountingRule.made == 2  # one validation per distinct document


async def test_a_syntax_error_is_reported_every_time():
    schema = build_schema()
    for _ in range(2):
        result = await schema.execute("{ chat(id: ")
        assert [e.message for e in result.errors] == ["Syntax Error: Unexpected <EOF>."]
        assert [e.extensions["code"] for e in result.errors] == ["GRAPHQL_PARSE_FAILED"]


async def test_the_token_limit_applies_to_cached_documents():
    query = "{ __schema { " + " ".join("queryType { name }" for _ in range(15)) + " } }"
    assert (await build_schema().execute(query)).errors is None  # now cached
    result = await build_schema(QueryLimits(max_tokens=50)).execute(query)
    assert [(e.extensions["code"], e.extensions["limit"]) for e in result.errors] == [("QUERY_TOO_COMPLEX", "tokens")]


async def test_production_and_development_do_not_share_a_validation():
    query = "{ myChat { id } }"
    development = await build_schema().execute(query)
    production = await build_schema(production=True).execute(query)
    again = await build_schema().execute(query)
    assert "Did you mean" in development.errors[0].message
    assert [e.message for e in production.errors] == ["Cannot query field 'myChat' on type 'Query'."]
    assert again.errors[0].message == development.errors[0].message


async def test_the_limits_still_see_each_requests_variables():
    schema = build_schema()
    query = "query ($n: Int) { conversations(first: $n) { edges { node { id } } } }"
    fine = await schema.execute(query, variable_values={"n": 10}, context_value=Context())  # anonymous
    too_big = await schema.execute(query, variable_values={"n": 100000}, context_value=Context())
    assert [e.extensions["code"] for e in fine.errors] == ["UNAUTHENTICATED"]  # it ran
    assert [e.extensions["code"] for e in too_big.errors] == ["INVALID_INPUT", "QUERY_TOO_COMPLEX"]
    again = await schema.execute(query, variable_values={"n": 10}, context_value=Context())  # the cache did not keep that error
    assert [e.extensions["code"] for e in again.errors] == ["UNAUTHENTICATED"]


async def test_the_measures_cache_is_bounded():
    results = ValidationResults(size=2)
    for key in ("a", "b", "c"):
        results.put((key,), [])
    assert results.get(("a",)) is None and results.get(("c",)) == ()


async def test_the_limits_are_measured_once_per_document_and_page_sizes(monkeypatch):
    calls = []
    real = limits.limit_errors
    monkeypatch.setattr(limits, "limit_errors", lambda *a: calls.append(1) or real(*a))
    schema = build_schema()
    query = "query ($n: Int) { conversations(first: $n) { edges { node { id } } } }"
    codes = []
    for n in (10, 10, 10, 100000, 100000, None):
        result = await schema.execute(query, variable_values={"n": n}, context_value=Context())
        codes.append([e.extensions["code"] for e in result.errors])
    assert codes == [["UNAUTHENTICATED"]] * 3 + [["INVALID_INPUT", "QUERY_TOO_COMPLEX"]] * 2 + [["UNAUTHENTICATED"]]
    assert len(calls) == 3  # n = 10, n = 100000, n = null
