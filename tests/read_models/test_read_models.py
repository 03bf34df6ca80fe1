"""Every read model (services/common/read_models.py) against the Tortoise model it reads: each
field names a column of that model, with a compatible Python type and the same nullability; and
the hot reads return them with values of those types on both backends.

A model field renamed, removed, retyped or made nullable without its read model following fails
here, not in a list at run time."""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import datetime

import pytest

import services.chats.read_models  # noqa: F401 - registers the chat lists' read models
import services.identity.auth  # noqa: F401 - registers the token look-up's read model
from models import Chat, ChatKind, Operator
from services.chats import chats, reads
from services.chats.chat_relations import RELATIONS, chat_relations
from services.chats.read_models import ChatRow, ClientRow, MessageRow, OpenChannelRow, OperatorRow
from services.common.read_models import READ_MODELS, column_of, model_reader, read_model, source_of
from services.contact_center import conversations, search
from services.messaging import messages
from tests.factories import make_open_channel, make_operator, start_chat


def _python_type(field) -> type:
    """The Python type a model field gives (an enum field: its enum)."""
    return getattr(field, "enum_type", None) or field.field_type


def _members(annotation) -> tuple[set, bool]:
    """(the types of an annotation, whether None is one of them)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        found = set(typing.get_args(annotation))
    else:
        found = {annotation}
    return found - {type(None)}, type(None) in found


def problems_of(cls: type) -> list[str]:
    """What is wrong with a read model against its model(s); empty when nothing is."""
    found = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        model = source_of(cls, field)
        where = f"{cls.__name__}.{field.name} ({model.__name__})"
        model_field = model._meta.fields_map.get(field.name)
        if model_field is None:
            found.append(f"{where}: no such field")
            continue
        if model._meta.fields_db_projection.get(field.name) != field.name:
            found.append(f"{where}: not a column of that name (a relation, or stored under another name)")
            continue
        wanted, nullable = _members(hints[field.name])
        if _python_type(model_field) not in wanted:
            found.append(f"{where}: {hints[field.name]} does not hold the model's {_python_type(model_field)}")
        if nullable != bool(model_field.null):
            found.append(f"{where}: nullable {nullable}, the model's field {bool(model_field.null)}")
    return found


async def test_every_read_model_matches_its_model(db):
    assert {ChatRow, ClientRow, OperatorRow, OpenChannelRow, MessageRow} <= set(READ_MODELS)
    assert {cls.__name__: problems_of(cls) for cls in READ_MODELS} == {cls.__name__: [] for cls in READ_MODELS}


async def test_a_read_model_out_of_step_with_its_model_is_caught(db):
    @dataclass(frozen=True, slots=True)
    class Drifted:
        id: int
        heading: str  # renamed on the model (Chat.title)
        status: str  # an enum on the model
        closed_at: datetime  # nullable on the model
        client: int  # the relation, not its column (client_id)
        created_at: datetime | None  # not nullable on the model
        role: str = column_of(Operator)  # joined from another model: an enum there

    try:
        assert [problem.split(":")[0] for problem in problems_of(read_model(Chat)(Drifted))] == [
            "Drifted.heading (Chat)", "Drifted.status (Chat)", "Drifted.closed_at (Chat)", "Drifted.client (Chat)",
            "Drifted.created_at (Chat)", "Drifted.role (Operator)",
        ]
    finally:
        READ_MODELS.pop(Drifted, None)


def test_a_read_model_is_a_frozen_slotted_dataclass():
    @dataclass
    class Loose:
        id: int

    with pytest.raises(TypeError):
        read_model(Chat)(Loose)

    @dataclass(frozen=True, slots=True)
    class Derived(ChatRow):
        activity_at: datetime

    with pytest.raises(TypeError):  # its fast constructor builds objects of one class's layout
        read_model(Chat)(Derived)
    row = ChatRow(*([None] * len(dataclasses.fields(ChatRow))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.title = "changed"  # type: ignore[misc]
    assert not hasattr(row, "__dict__")
    built = model_reader(ChatRow)(row)  # the generated constructor: a genuine, equal, frozen ChatRow
    assert type(built) is ChatRow and built == row and hash(built) == hash(row) and built is not row
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.title = "changed"  # type: ignore[misc]


def _assert_typed(row) -> None:
    """Every value of the row is of its field's annotated type."""
    hints = typing.get_type_hints(type(row))
    for field in dataclasses.fields(row):
        wanted, nullable = _members(hints[field.name])
        value = getattr(row, field.name)
        assert (value is None and nullable) or isinstance(value, tuple(wanted)), (type(row).__name__, field.name, value)
        if isinstance(value, datetime):
            assert value.tzinfo is not None, (type(row).__name__, field.name)


async def test_the_hot_reads_return_typed_read_models(db):
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    chat, visitor, _ = await start_chat(channel, name="Guest", text="hello there")
    await chats.answer_chat(me, chat_id=chat.id)
    await messages.send_message(me, chat_id=chat.id, text="a reply about the parcel")
    groups = await reads.my_chats(me, relations=set(RELATIONS))
    [row] = groups.offered + groups.waiting_first_response + groups.active + groups.internal
    assert type(row) is ChatRow and row.id == chat.id and row.kind is ChatKind.CUSTOMER
    _assert_typed(row)
    relations = groups.relations[chat.id]
    assert {name: type(value) for name, value in relations.items()} == {
        "client": ClientRow, "operator": OperatorRow, "open_channel": OpenChannelRow, "last_message": MessageRow,
        "unread_count": int}
    for name in ("client", "operator", "open_channel", "last_message"):
        _assert_typed(relations[name])
    assert (await chat_relations(me, [chat.id], set(RELATIONS)))[chat.id] == relations
    for order in conversations.ConversationOrder:
        page = await conversations.conversations(me, order=order)
        assert [r.id for r in page.rows] == [chat.id]
        _assert_typed(page.rows[0])
        assert ChatRow(**{f.name: getattr(page.rows[0], f.name) for f in dataclasses.fields(ChatRow)}) == row
    found = await search.search_messages(me, query="parcel")
    assert [type(m) for m in found.rows] == [MessageRow] and found.rows[0].text == "a reply about the parcel"
    _assert_typed(found.rows[0])
    assert found.rows[0] == relations["last_message"]
