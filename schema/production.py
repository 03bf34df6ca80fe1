"""Production mode (`OPENCHANNELS_ENV=production`): no introspection, no field suggestions.

- Introspection (`__schema`, `__type`) is refused by graphql-core's
  NoSchemaIntrospectionCustomRule, with `extensions.code = "INTROSPECTION_DISABLED"`
  (`__typename` stays allowed: clients need it).
- Validation and variable errors carry no "Did you mean ...?" hints (graphql-core's
  `hide_suggestions`), so a stranger cannot map the schema by trial and error.
- Unexpected errors are masked with a request id, as in every mode (schema/error_policy.py).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"


class NoIntrospectionRule(NoSchemaIntrospectionCustomRule):
    def report_error(self, error: GraphQLError) -> None:
        super().report_error(GraphQLError("Introspection is disabled on this server.", error.nodes,
                                          extensions={"code": INTROSPECTION_DISABLED}))


class ProductionValidation(SchemaExtension):
    """Refuses introspection (validation without suggestions: schema/validation_cache.py)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, NoIntrospectionRule)
        yield


class HiddenSuggestionsMixin:
    """For a Schema subclass: variable values are coerced without suggestions too."""

    def _get_custom_context_kwargs(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**super()._get_custom_context_kwargs(*args, **kwargs), "hide_suggestions": True}  # type: ignore[misc]
