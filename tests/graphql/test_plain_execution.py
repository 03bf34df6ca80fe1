"""The plain-field execution path (schema/plain_execution.py) answers exactly as graphql-core
does, field by field, and is actually taken for lists of plain objects."""
from __future__ import annotations

import enum
import gc
import weakref
from collections import Counter

import pytest
import strawberry
from strawberry.file_uploads import Upload

from tests.graphql.helpers import execute  # noqa: I001 - imports the schema before its resolvers
from resolvers.context import Context
from schema.root import Mutation, Query, Subscription
from strawberry.extensions import ParserCache
from schema import plain_execution
from schema.plain_execution import PlainFieldExecutionContext, prefetched_field
from services.chats import chats
from services.messaging import messages
from tests.factories import make_open_channel, make_operator, start_chat
from tests.engine import fast_path_only


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Tag:
    label: str


@strawberry.type
class Item:
    name: str
    size: int | None
    colour: Colour
    tags: list[Tag]
    prefetched: strawberry.Private[dict]

    @strawberry.field(metadata=prefetched_field("owner"))
    def owner(self) -> Tag | None:
        return self.prefetched["owner"] if "owner" in self.prefetched else Tag(label="loaded the slow way")

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times


def _items() -> list[Item]:
    return [Item(name=f"item {i}", size=i, colour=Colour.RED if i % 2 else Colour.BLUE,
                 tags=[Tag(label=f"t{i}")], prefetched={"owner": Tag(label=f"owner {i}")}) for i in range(3)]


def _schemas(items: list[Item]):
    @strawberry.type
    class ItemQuery:
        @strawberry.field
        def items(self) -> list[Item]:
            return items

    return _planned_and_standard(ItemQuery)


def _planned_and_standard(query_type: type) -> tuple[strawberry.Schema, strawberry.Schema]:
    """The schema of `query_type` with plans, as the real schema runs (documents from the parse
    cache), and without."""
    return (strawberry.Schema(query=query_type, execution_context_class=PlainFieldExecutionContext,
                              extensions=[ParserCache]),
            strawberry.Schema(query=query_type))


async def _both(query: str, items: list[Item], **variables):
    planned, standard = _schemas(items)
    a = await planned.execute(query, variable_values=variables)
    b = await standard.execute(query, variable_values=variables)
    return a, b


def _same(a, b) -> None:
    assert a.data == b.data
    assert [(e.message, e.path) for e in a.errors or []] == [(e.message, e.path) for e in b.errors or []]


@pytest.mark.parametrize("query", [
    "{ items { name size colour tags { label } owner { label } __typename } }",
    "{ items { n: name, again: name, ...F } } fragment F on Item { size tags { l: label } }",
    "query($no: Boolean!) { items { name size @include(if: $no) colour @skip(if: $no) } }",
    "{ items { name shout(times: 2) owner { label } } }",
])
async def test_plain_objects_answer_as_graphql_core_does(query):
    a, b = await _both(query, _items(), no=False)
    _same(a, b)
    assert a.errors is None and len(a.data["items"]) == 3


async def test_prefetched_values_are_read_and_missing_ones_resolved():
    items = _items()
    items[1].prefetched = {}
    a, b = await _both("{ items { owner { label } } }", items)
    _same(a, b)
    assert [i["owner"]["label"] for i in a.data["items"]] == ["owner 0", "loaded the slow way", "owner 2"]


@pytest.mark.parametrize("break_it, message", [
    (lambda item: setattr(item, "name", None), "Cannot return null for non-nullable field Item.name."),
    (lambda item: setattr(item, "size", 2 ** 31), "Int cannot represent non 32-bit signed integer value"),
    (lambda item: setattr(item, "colour", "green"), "Enum 'Colour' cannot represent value"),
    (lambda item: setattr(item, "tags", [None]), "Cannot return null for non-nullable field Item.tags."),
    (lambda item: delattr(item, "size"), "'Item' object has no attribute 'size'"),  # read inline by the plan
])
async def test_a_bad_value_gets_graphql_cores_error_and_path(break_it, message):
    items = _items()
    break_it(items[1])
    a, b = await _both("{ items { name size colour tags { label } } }", items)
    _same(a, b)
    assert message in a.errors[0].message
    assert a.errors[0].path[:2] == ["items", 1]


@strawberry.type
class Box:
    id: strawberry.ID
    colour: Colour
    tag: Tag
    spare: Tag | None


def _boxes() -> list[Box]:
    return [Box(id=strawberry.ID(f"b{i}"), colour=Colour.BLUE, tag=Tag(label=f"t{i}"), spare=None) for i in range(3)]


def _box_schemas(boxes: list[Box]):
    @strawberry.type
    class BoxQuery:
        @strawberry.field
        def boxes(self) -> list[Box]:
            return boxes

    return _planned_and_standard(BoxQuery)


@pytest.mark.parametrize("change, expected", [
    (lambda box: None, None),
    # values the plan's inline shortcuts do not take: completed as graphql-core completes them
    (lambda box: setattr(box, "id", 7), None),  # an ID given as a number
    (lambda box: setattr(box, "colour", "red"), None),  # an enum's value rather than its member
    (lambda box: setattr(box, "spare", Tag(label="spare")), None),
    (lambda box: setattr(box, "tag", None), "Cannot return null for non-nullable field Box.tag."),
    (lambda box: setattr(box, "id", None), "Cannot return null for non-nullable field Box.id."),
    (lambda box: setattr(box, "colour", "green"), "Enum 'Colour' cannot represent value"),
    (lambda box: setattr(box, "tag", "not a tag"), "'str' object has no attribute 'label'"),
])
async def test_the_plans_inline_shortcuts_answer_as_graphql_core_does(change, expected):
    boxes = _boxes()
    change(boxes[1])
    planned, standard = _box_schemas(boxes)
    query = "{ boxes { id colour tag { label } spare { label } } }"
    a, b = await planned.execute(query), await standard.execute(query)
    _same(a, b)
    if expected is None:
        assert a.errors is None and [box["tag"]["label"] for box in a.data["boxes"]] == ["t0", "t1", "t2"]
        assert a.data["boxes"][1]["colour"] in ("BLUE", "RED")
    else:
        assert expected in a.errors[0].message and a.errors[0].path[:2] == ["boxes", 1]


async def _operator_with_active_chats(count: int):
    """An operator's viewer with `count` answered and replied chats (myChats' `active`)."""
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    for i in range(count):
        chat, _, _ = await start_chat(channel, name=f"Guest {i}", text=f"hello {i}")
        await chats.answer_chat(me, chat_id=chat.id)
        await messages.send_message(me, chat_id=chat.id, text=f"reply {i}")
    return me


@fast_path_only
async def test_a_chat_list_runs_one_resolver_per_list_not_per_field(db, monkeypatch):
    me = await _operator_with_active_chats(4)
    calls = []
    original = PlainFieldExecutionContext.execute_field

    def counting(self, parent_type, *args, **kwargs):
        calls.append(parent_type.name)
        return original(self, parent_type, *args, **kwargs)

    monkeypatch.setattr(PlainFieldExecutionContext, "execute_field", counting)
    query = "{ myChats { active { id title status createdAt client { name } operator { name } " \
            "lastMessage { text silent } unreadCount } } }"
    data = await execute(query, me)
    assert len(data["myChats"]["active"]) == 4
    # graphql-core executed the root field only: its groups and their chats came from plans
    assert calls == ["Query"]
    monkeypatch.setattr(PlainFieldExecutionContext, "execute_field", original)
    # the same schema executed by graphql-core alone gives the same answer
    slow = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)
    expected = await slow.execute(query, context_value=Context(viewer=me))
    assert expected.errors is None and expected.data == data


async def test_plans_are_compiled_once_per_document_and_variables(monkeypatch):
    compiled = []
    original = PlainFieldExecutionContext._compile_object

    def counting(self, object_type, details):
        compiled.append(object_type.name)
        return original(self, object_type, details)

    monkeypatch.setattr(PlainFieldExecutionContext, "_compile_object", counting)
    planned, standard = _schemas(_items())
    query = "query($big: Boolean!) { items { name size @include(if: $big) tags { label } } }"
    results = [await planned.execute(query, variable_values={"big": big}) for big in (True, True, False, False)]
    assert compiled == ["Item", "Tag", "Item", "Tag"]  # once for big: true, once for big: false
    for result, big in zip(results, (True, True, False, False)):
        assert result.data == (await standard.execute(query, variable_values={"big": big})).data
        assert ("size" in result.data["items"][0]) is big


class _File:
    """Stands for an upload: something a request brings that must die with the request."""


def _holds(value, target) -> bool:
    if value is target:
        return True
    return isinstance(value, tuple) and any(_holds(part, target) for part in value)


async def test_the_plan_cache_keeps_no_request_value_its_plans_do_not_depend_on():
    items = _items()

    @strawberry.type
    class UploadQuery:
        @strawberry.field
        def items(self, file: Upload | None = None, note: str | None = None) -> list[Item]:
            return items

    planned = strawberry.Schema(query=UploadQuery, execution_context_class=PlainFieldExecutionContext,
                                extensions=[ParserCache])
    query = """query($f: Upload, $note: String, $big: Boolean!) {
      items(file: $f, note: $note) { name size @include(if: $big) tags { label } } }"""
    file, note = _File(), "a note " * 1000
    result = await planned.execute(query, variable_values={"f": file, "note": note, "big": True})
    assert result.errors is None and "size" in result.data["items"][0]

    keys = list(plain_execution._SHARED_PLANS._entries)
    assert keys, "the plans were shared"
    assert not any(_holds(key, file) or _holds(key, note) for key in keys)
    assert any((("big", True),) in key for key in keys)  # what the plan does depend on: @include's
    gone = weakref.ref(file)
    del file, result
    gc.collect()
    assert gone() is None, "the upload outlived its request"


@fast_path_only
async def test_a_request_leaves_nothing_for_the_cycle_collector(db):
    """What a request makes (its executor, context, loaders, rows) is freed by reference counting
    when it ends. Left in a reference cycle, it would wait for a cyclic collection, which stops every
    request in flight, and each young collection would move it to the older generation for the
    next older collection to walk (23 ms each under the bench's 16 conversations at a time)."""
    me = await _operator_with_active_chats(3)
    query = "{ myChats { active { id title client { name } operator { name } lastMessage { text } unreadCount } } }"
    mutation = "mutation($chat: ID!) { sendMessage(input: {chatId: $chat, text: \"hi\"}) { message { id } } }"
    chat_id = (await execute(query, me))["myChats"]["active"][0]["id"]  # caches filled
    await execute(mutation, me, chat=chat_id)
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            assert len((await execute(query, me))["myChats"]["active"]) == 3
            await execute(mutation, me, chat=chat_id)
        gc.set_debug(gc.DEBUG_SAVEALL)
        found = gc.collect()
        kinds = Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert found == 0, kinds.most_common(12)
