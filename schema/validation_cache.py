"""Validation remembered per query text (PLAIN_EXECUTION=on; off: Strawberry's ValidationCache).

Strawberry's ValidationCache keys its LRU on the syntax tree, and graphql-core's nodes hash by
walking the whole tree: 60-90 us for each of the bench's documents (myChats, conversations,
sendMessage) on every request, 3-7 % of a sendMessage's server time. The text's hash is kept by
Python. The validation itself is Strawberry's own (`validate_document`, with its rules), read
from its non-public module, as is the graphql-core schema (`_schema`): both pinned
(tests/engine/test_private_parts.py). The query limits depend on the variables too and are
checked on every request after this (schema/limits.py).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from schema.limits import ValidationResults


def text_keyed_validation(size: int):
    """A factory for `Schema(extensions=...)`: the results shared by the schema's requests."""
    results = ValidationResults(size)
    return lambda: TextKeyedValidation(results)


class TextKeyedValidation(SchemaExtension):
    """Validates as Strawberry would, or takes the result remembered for the text and rules.

    Strawberry validates only when no extension did (`pre_execution_errors is None`), so this
    replaces its validation; it must come before the extensions that add errors of their own.
    """

    def __init__(self, results: ValidationResults) -> None:
        self.results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            key = (context.query, tuple(context.validation_rules)) if context.query else None
            errors: Sequence[GraphQLError] | None = self.results.get(key) if key else None
            if errors is None:
                errors = validate_document(context.schema._schema, context.graphql_document,
                                           tuple(context.validation_rules))
                if key:
                    self.results.put(key, errors)
            context.pre_execution_errors = list(errors)  # a copy: later checks add to it
        yield
