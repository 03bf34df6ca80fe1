"""Every input type of the schema is built by its plan (schema/input_values.py) exactly as
Strawberry's own conversion builds it: all fields given, optional ones omitted or null, nested
inputs and lists; and a mutation's input reaches the service as the client sent it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import strawberry
from strawberry.types.arguments import InputContext, convert_argument
from strawberry.types.base import StrawberryList, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from tests.graphql.helpers import execute_raw  # noqa: I001 - imports the schema before its resolvers
from tests.engine import fast_path_only
from schema import schema
from schema.input_values import _PlannedInput

UPLOAD = object()  # what graphql-core hands over for an Upload: passed on as it is
INPUTS = sorted(
    (concrete.definition for concrete in schema.schema_converter.type_map.values()
     if isinstance(concrete.definition, StrawberryObjectDefinition) and concrete.definition.is_input),
    key=lambda definition: definition.name)


def _sample(type_: Any, depth: int = 0) -> Any:
    """A GraphQL input value of `type_` as graphql-core hands it over (names in camelCase)."""
    if isinstance(type_, StrawberryOptional):
        return _sample(type_.of_type, depth)
    if isinstance(type_, StrawberryList):
        return [_sample(type_.of_type, depth), _sample(type_.of_type, depth)]
    if isinstance(type_, StrawberryEnumDefinition):
        return list(type_.wrapped_cls)[-1]
    if hasattr(type_, "__strawberry_definition__"):
        return _value(type_.__strawberry_definition__, depth + 1, leave_out_optional=False)
    return {str: "text", int: 7, float: 2.5, bool: True, strawberry.ID: "T3BlcmF0b3I6MQ==",
            datetime: datetime(2026, 11, 25, tzinfo=timezone.utc)}.get(type_, UPLOAD)


def _value(definition: StrawberryObjectDefinition, depth: int = 0, *, leave_out_optional: bool,
           nulls: bool = False) -> dict[str, Any]:
    value = {}
    for field in definition.fields:
        type_ = field.resolve_type(type_definition=definition)
        name = schema.config.name_converter.from_field(field)
        if isinstance(type_, StrawberryOptional) and (leave_out_optional or nulls):
            if nulls:
                value[name] = None
            continue
        value[name] = _sample(type_, depth)
    return value


def _context() -> InputContext:
    return InputContext(info=None, config=schema.config, scalar_registry=schema.schema_converter.scalar_registry,
                        path=("input",))


def _strawberry_built(definition: StrawberryObjectDefinition, value: dict[str, Any]) -> Any:
    planned = definition.from_input
    definition.from_input = None
    try:
        return convert_argument(value, definition.origin, schema.schema_converter.scalar_registry, schema.config)
    finally:
        definition.from_input = planned


@fast_path_only
def test_every_input_type_has_a_plan() -> None:
    assert len(INPUTS) > 30
    assert all(isinstance(definition.from_input, _PlannedInput) for definition in INPUTS)


@fast_path_only
@pytest.mark.parametrize("shape", ["every field", "optional fields left out", "optional fields null"])
@pytest.mark.parametrize("definition", INPUTS, ids=lambda definition: definition.name)
def test_the_planned_input_is_the_one_strawberry_builds(definition: StrawberryObjectDefinition, shape: str) -> None:
    value = _value(definition, leave_out_optional=shape != "every field", nulls=shape == "optional fields null")

    planned = definition.from_input(definition.origin, value, _context())
    expected = _strawberry_built(definition, value)

    assert type(planned) is definition.origin
    assert planned == expected


@fast_path_only
def test_a_list_is_copied_not_shared() -> None:
    definition = next(d for d in INPUTS if d.name == "AddChatParticipantsInput")
    ids = ["T3BlcmF0b3I6MQ==", "T3BlcmF0b3I6Mg=="]

    built = definition.from_input(definition.origin, {"chatId": "Q2hhdDox", "operatorIds": ids}, _context())

    assert built.operator_ids == ids and built.operator_ids is not ids


async def test_a_mutation_input_reaches_the_service_as_sent(monkeypatch) -> None:
    seen: dict[str, Any] = {}

    async def send_message(viewer, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr("services.messaging.messages.send_message", send_message)
    await execute_raw('mutation { sendMessage(input: {chatId: "Q2hhdDo0Mg==", text: "hi", silent: true, '
                  'mentionOperatorIds: ["T3BlcmF0b3I6Mw=="]}) { message { id } } }')

    assert seen == {"chat_id": 42, "text": "hi", "silent": True, "attachment_ids": [], "reply_to_message_id": None,
                    "quote_message_id": None, "mention_operator_ids": [3]}
