"""Documents are parsed once per text (schema/parse_cache.py); a text that does not parse gets
Strawberry's usual syntax error, and the token limit still applies."""
from __future__ import annotations

from schema import build_schema, parse_cache
from schema.limits import QueryLimits


async def test_a_document_is_parsed_once_per_text(monkeypatch):
    calls = []
    cached = parse_cache.lru_cache(maxsize=8)(lambda *a, **k: calls.append(a[0]) or parse_cache.parse(*a, **k))
    monkeypatch.setattr(parse_cache, "_cached_parse", cached)
    schema = build_schema()
    for _ in range(3):
        assert (await schema.execute("{ __typename }")).data == {"__typename": "Query"}
    assert (await schema.execute("{ __schema { queryType { name } } }")).errors is None
    assert calls == ["{ __typename }", "{ __schema { queryType { name } } }"]


async def test_a_syntax_error_is_reported_every_time():
    schema = build_schema()
    for _ in range(2):
        result = await schema.execute("{ chat(id: ")
        assert [e.message for e in result.errors] == ["Syntax Error: Unexpected <EOF>."]


async def test_the_token_limit_applies_to_cached_documents():
    query = "{ __schema { " + " ".join("queryType { name }" for _ in range(15)) + " } }"
    assert (await build_schema().execute(query)).errors is None  # now cached
    result = await build_schema(QueryLimits(max_tokens=50)).execute(query)
    assert [(e.extensions["code"], e.extensions["limit"]) for e in result.errors] == [("QUERY_TOO_COMPLEX", "tokens")]
