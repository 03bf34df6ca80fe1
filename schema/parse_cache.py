"""Parsing, cached by query text: consoles send the same few documents all day long.

Parsing a 50-chat list document costs about a third of a millisecond, every request. The
parsed document depends only on the text and the parse options (`max_tokens`), and nothing
downstream changes it, so documents are kept in a bounded LRU shared by every request. A
text that does not parse is not kept: Strawberry parses it again and reports the error as
it always does.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import GraphQLError, parse
from strawberry.extensions import SchemaExtension

#: distinct documents kept (bounded: strangers' documents evict, they cannot grow memory)
CACHE_SIZE = 512

_cached_parse = lru_cache(maxsize=CACHE_SIZE)(parse)


class CachedParsing(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            try:
                context.graphql_document = _cached_parse(context.query, **context.parse_options)
            except GraphQLError:
                pass  # Strawberry's own parse reports it
        yield
