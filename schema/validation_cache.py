"""Validation, cached by query text: consoles send the same few documents all day long.

graphql-core's validation of a 50-chat list document costs about as much as resolving a
fifth of it, and its result depends only on the schema, the document and the rules. So the
errors are kept per (query text, rules) in a bounded LRU, one per schema. The query limits
depend on the variables too and are checked on every request after this (schema/limits.py).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from graphql import GraphQLError
from graphql.validation import validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from infrastructure.lru import LRU

#: distinct documents whose validation is remembered (a bounded cache: strangers' documents evict)
CACHE_SIZE = 512


class ValidationResults(LRU[tuple, tuple[GraphQLError, ...]]):
    """A bounded LRU of validation errors by (query text, rules), kept as tuples (callers add to copies)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        super().__init__(size)

    def put(self, key: tuple, errors: Sequence[GraphQLError]) -> None:
        super().put(key, tuple(errors))


def cached_validation(hide_suggestions: bool = False, size: int = CACHE_SIZE):
    """A factory for `Schema(extensions=...)`; `hide_suggestions`: no "Did you mean" (production)."""
    results = ValidationResults(size)
    return lambda: CachedValidation(results, hide_suggestions)


class CachedValidation(SchemaExtension):
    """Validates as Strawberry would (its two rules included), or takes the remembered result.

    Strawberry validates only when no extension did (`pre_execution_errors is None`), so this
    replaces its validation; it must come before the extensions that add errors of their own.
    """

    def __init__(self, results: ValidationResults, hide_suggestions: bool) -> None:
        self.results = results
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
            key = (context.query, rules) if context.query else None
            errors: Sequence[GraphQLError] | None = self.results.get(key) if key else None
            if errors is None:
                errors = validate(context.schema._schema, context.graphql_document, rules,
                                  hide_suggestions=self.hide_suggestions)
                if key:
                    self.results.put(key, errors)
            context.pre_execution_errors = list(errors)  # a copy: later checks add to it
        yield
