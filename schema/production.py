"""Production mode (`OPENCHANNELS_ENV=production`): no introspection, no field suggestions.

- Introspection (`__schema`, `__type`) is refused by graphql-core's
  NoSchemaIntrospectionCustomRule, with `extensions.code = "INTROSPECTION_DISABLED"`
  (`__typename` stays allowed: clients need it).
- Validation and variable errors carry no "Did you mean ...?" hints (graphql-core's
  `hide_suggestions`), so a stranger cannot map the schema by trial and error.
- Unexpected errors are masked with a request id, as in every mode (schema/error_policy.py).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule, ValidationContext
from strawberry.extensions import SchemaExtension

INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"


class NoIntrospectionRule(NoSchemaIntrospectionCustomRule):
    def report_error(self, error: GraphQLError) -> None:
        super().report_error(GraphQLError("Introspection is disabled on this server.", error.nodes,
                                          extensions={"code": INTROSPECTION_DISABLED}))


#: graphql-core's suggestion, always at the end of a message (graphql.pyutils.did_you_mean)
_SUGGESTION = re.compile(r" Did you mean .*\?$", re.DOTALL)


class HideSuggestionsRule(ASTValidationRule):
    """Validation without "Did you mean": Strawberry's validation (and its cache) does not pass
    graphql-core's `hide_suggestions`, so every error reported while this rule takes part loses its
    suggestion on the way to the context's public `on_error` callback."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        report = context.on_error

        def without_suggestion(error: GraphQLError) -> None:
            error.message = _SUGGESTION.sub("", error.message)
            report(error)

        context.on_error = without_suggestion  # type: ignore[method-assign]


class ProductionValidation(SchemaExtension):
    """Refuses introspection, and validates without suggestions (both rules are part of the key
    of Strawberry's validation cache: production's results are not development's)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, HideSuggestionsRule, NoIntrospectionRule)
        yield


class HiddenSuggestionsMixin:
    """For a Schema subclass: variable values are coerced without suggestions too."""

    def _get_custom_context_kwargs(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**super()._get_custom_context_kwargs(*args, **kwargs), "hide_suggestions": True}  # type: ignore[misc]
