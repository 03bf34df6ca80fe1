"""Mutation inputs built in one step from the values graphql-core has already coerced.

Strawberry converts an input object field by field through its generic `convert_argument`,
which works out each field's type again on every request: for `sendMessage`'s seven fields,
thirteen calls and about 5 % of the request. Our inputs' fields are scalars, enums and lists
of them, which that conversion returns unchanged (a list copied), and now and then a nested
input. So each input type gets a plan made once (Strawberry's `from_input` hook of the type
definition): copy the scalars, copy the lists, let Strawberry convert what is nested, and
fill in None for an omitted field without a default, as Strawberry does.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from strawberry.relay.types import GlobalID
from strawberry.schema.compat import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList, StrawberryMaybe, StrawberryObjectDefinition, StrawberryOptional, StrawberryType,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition


def build_inputs_in_one_step(schema: strawberry.Schema) -> None:
    """Give every input type of `schema` a planned `from_input` (those that have one keep it)."""
    for concrete in schema.schema_converter.type_map.values():
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition) and definition.is_input \
                and definition.from_input is None and not _has_maybe_field(definition):
            definition.from_input = _PlannedInput(definition)


def _has_maybe_field(definition: StrawberryObjectDefinition) -> bool:
    # a type with `from_input` is not checked for nulls in Maybe fields (strawberry.Maybe):
    # those keep Strawberry's conversion
    return any(isinstance(field.type, StrawberryMaybe) for field in definition.fields)


class _PlannedInput:
    def __init__(self, definition: StrawberryObjectDefinition) -> None:
        self.definition = definition
        #: (GraphQL name, Python name, the type Strawberry converts, or None, a list to copy)
        self._plan: list[tuple[str, str, StrawberryType | type | None, bool]] | None = None
        #: omitted fields with no default are None (the required ones are never omitted)
        self._implicit_none = {field.python_name: None for field in definition.fields
                               if field.default_value is MISSING and field.default_factory is MISSING}

    def __call__(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        plan = self._plan if self._plan is not None else self._make_plan(context)
        kwargs = dict(self._implicit_none)
        for graphql_name, python_name, converted, is_list in plan:
            if graphql_name not in value:
                continue
            item = value[graphql_name]
            if item is not None:
                if converted is not None:
                    item = context.convert(item, converted, graphql_name)
                elif is_list:
                    item = list(item)  # graphql-core may share a default list between requests
            kwargs[python_name] = item
        return cls(**kwargs)

    def _make_plan(self, context: InputContext) -> list[tuple[str, str, StrawberryType | type | None, bool]]:
        plan = []
        for field in self.definition.fields:
            type_ = field.resolve_type(type_definition=self.definition)
            inner = type_.of_type if isinstance(type_, StrawberryOptional) else type_
            is_list = isinstance(inner, StrawberryList)
            leaf = inner.of_type if isinstance(inner, StrawberryList) else inner
            if isinstance(leaf, StrawberryOptional):
                leaf = leaf.of_type
            plain = _is_plain(leaf, context)
            plan.append((context.config.name_converter.from_field(field), field.python_name,
                         None if plain else type_, is_list))
        self._plan = plan
        return plan


def _is_plain(type_: Any, context: InputContext) -> bool:
    """A scalar or an enum: graphql-core's coerced value is the Python value (Strawberry's
    conversion returns it unchanged). GlobalID, nested inputs and anything else are converted."""
    if type_ is GlobalID:
        return False
    return (is_scalar(type_, context.scalar_registry) or isinstance(type_, StrawberryEnumDefinition)
            or has_enum_definition(type_))
