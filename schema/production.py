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
from graphql.validation import NoSchemaIntrospectionCustomRule, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"


class NoIntrospectionRule(NoSchemaIntrospectionCustomRule):
    def report_error(self, error: GraphQLError) -> None:
        super().report_error(GraphQLError("Introspection is disabled on this server.", error.nodes,
                                          extensions={"code": INTROSPECTION_DISABLED}))


class ProductionValidation(SchemaExtension):
    """Refuses introspection and validates without suggestions.

    Strawberry validates only when no extension did (`pre_execution_errors is None`), so
    validating here, with the same rules plus Strawberry's own two, replaces its validation.
    """

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, NoIntrospectionRule)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
            context.pre_execution_errors = validate(context.schema._schema, context.graphql_document, rules,
                                                    hide_suggestions=True)
        yield


class HiddenSuggestionsMixin:
    """For a Schema subclass: variable values are coerced without suggestions too."""

    def _get_custom_context_kwargs(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**super()._get_custom_context_kwargs(*args, **kwargs), "hide_suggestions": True}  # type: ignore[misc]
