"""Validation is remembered per document text (schema/validation_cache.py); the query limits,
which depend on the variables, are still checked on every request."""
from __future__ import annotations

from schema import build_schema
from schema import validation_cache
from resolvers.context import Context


async def test_a_document_is_validated_once_and_its_errors_are_remembered(monkeypatch):
    calls = []
    real = validation_cache.validate
    monkeypatch.setattr(validation_cache, "validate", lambda *a, **k: calls.append(1) or real(*a, **k))
    schema = build_schema()
    for _ in range(3):
        assert (await schema.execute("{ __typename }")).errors is None
    for _ in range(3):
        result = await schema.execute("{ noSuchField }")
        assert [e.message for e in result.errors] == ["Cannot query field 'noSuchField' on type 'Query'."]
    assert len(calls) == 2  # one validation per distinct document


async def test_the_limits_still_see_each_requests_variables():
    schema = build_schema()
    query = "query ($n: Int) { conversations(first: $n) { edges { node { id } } } }"
    fine = await schema.execute(query, variable_values={"n": 10}, context_value=Context())  # anonymous
    too_big = await schema.execute(query, variable_values={"n": 100000}, context_value=Context())
    assert [e.extensions["code"] for e in fine.errors] == ["UNAUTHENTICATED"]  # it ran
    assert [e.extensions["code"] for e in too_big.errors] == ["INVALID_INPUT", "QUERY_TOO_COMPLEX"]
    again = await schema.execute(query, variable_values={"n": 10}, context_value=Context())  # the cache did not keep that error
    assert [e.extensions["code"] for e in again.errors] == ["UNAUTHENTICATED"]


async def test_the_cache_is_bounded():
    results = validation_cache.ValidationResults(size=2)
    for key in ("a", "b", "c"):
        results.put((key,), [])
    assert results.get(("a",)) is None and results.get(("c",)) == ()


async def test_the_limits_are_measured_once_per_document_and_page_sizes(monkeypatch):
    from schema import limits
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
