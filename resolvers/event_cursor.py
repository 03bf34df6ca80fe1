"""`eventCursor`: where in the event log an answer stands (services/events/cursors.py).

The cursor is read once per query or mutation, before its data (schema/event_cursor.py), and
travels as the operation's root value: every `eventCursor` of that answer returns it."""
from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError

from resolvers.errors import top_level
from services.common.errors import InvalidInput
from services.events.cursors import newest_event_id


@dataclass(frozen=True, slots=True)
class OperationRoot:
    """The root value of a query or mutation that asks for `eventCursor`."""

    #: the newest event committed before the operation read its data
    event_cursor: str


async def operation_root() -> OperationRoot:
    """Read the cursor: call it before anything of the answer is read."""
    return OperationRoot(event_cursor=str(await newest_event_id()))


def no_cursor_here() -> GraphQLError:
    """A subscription whose events carry no event id has no cursor to give (a clear error, not a
    cursor that could skip events)."""
    return top_level(InvalidInput("`eventCursor` is given by queries, mutations and subscription events that carry "
                                  "an eventId.", field=["eventCursor"]))
