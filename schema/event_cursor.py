"""`eventCursor`: the newest event an answer reflects, for the client to pass as `after` to the
matching subscription and miss nothing between its query and its subscription.

Read ONCE per query or mutation, BEFORE execution, and only when the document asks for it
(`EventCursor`, an extension of the schema: schema/__init__.py): the fields of one answer resolve
in graphql-core's order, some concurrently, so a cursor read by the field itself could be read
after the data and skip an event committed in between. Read first, it is correct: event ids are
given in commit order (services/events/cursors.py), so every event up to it is in the data, and
every later one is delivered after it (perhaps also showing in the data: seen twice, never lost).
Every `eventCursor` of the answer returns that one value (the operation's root value,
resolvers/event_cursor.py `OperationRoot`).

In a subscription's event the data is read after that event committed, so the event's own id is
the cursor: `eventId` of a ChatEvent or QueueEvent, the message's `eventId` in messageAdded.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Awaitable

from graphql import DocumentNode, FieldNode, SelectionSetNode
from strawberry.extensions import SchemaExtension
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from resolvers.event_cursor import OperationRoot, no_cursor_here, operation_root
from resolvers.messaging import relations as rm
from schema.chats.message import Message

FIELD = "eventCursor"


class EventCursor(SchemaExtension):
    """Reads the cursor before a query or mutation that asks for `eventCursor` runs (and only
    then: no query for the others). Async: the schema adds it to asynchronous executions only."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if (context.root_value is None and context.operation_type is not OperationType.SUBSCRIPTION
                and context.graphql_document is not None and asks_for_event_cursor(context.query, context.graphql_document)):
            context.root_value = await operation_root()
        yield


def asks_for_event_cursor(query: str | None, document: DocumentNode) -> bool:
    """Whether any selection of the document (its operations or fragments) has `eventCursor`."""
    if query is not None and FIELD not in query:
        return False
    return any(_asks(selections) for d in document.definitions
               if (selections := getattr(d, "selection_set", None)) is not None)


def _asks(selection_set: SelectionSetNode) -> bool:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.name.value == FIELD:
            return True
        inner = getattr(selection, "selection_set", None)
        if inner is not None and _asks(inner):
            return True
    return False


def event_cursor(info: Info) -> str | Awaitable[str]:
    """The cursor of the answer this field is part of (see the module's docstring)."""
    root: Any = info.root_value
    if isinstance(root, OperationRoot):
        return root.event_cursor
    if isinstance(root, Message):  # messageAdded: the event that added it
        return rm.event_id(info, root.pk, root.chat_pk)
    event_id = getattr(root, "event_id", None)
    if isinstance(event_id, str):  # a ChatEvent or QueueEvent
        return event_id
    raise no_cursor_here()
