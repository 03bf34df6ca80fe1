"""Prefetching a page of chats' relations from the query's selection, into plain values.

Why: a relation resolved per row (an async resolver awaiting a DataLoader) costs a coroutine,
a future and an await for every row and every field; on a 50-chat list that machinery cost
more than the SQL. Here the relations the selection asks for are loaded for the whole page in
one statement (services/chats/chat_relations.py) and handed to the chats; their resolvers, or the
plan of schema/plain_execution.py, then return them without awaiting anything. Relations
that are not selected are not loaded at all.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from infrastructure.lru import LRU


def selected_names(selections: Iterable[Selection], path: Sequence[str]) -> set[str]:
    """Names of the fields selected at `path` below `selections` (fragments flattened)."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, (FragmentSpread, InlineFragment)):
            names |= selected_names(selection.selections, path)
        elif isinstance(selection, SelectedField):
            if not path:
                names.add(selection.name)
            elif selection.name == path[0]:
                names |= selected_names(selection.selections, path[1:])
    return names


#: GraphQL field name of a Chat relation -> its name in services/chats/chat_relations.py and Chat.prefetched
_RELATIONS = {"client": "client", "operator": "operator", "openChannel": "open_channel",
              "lastMessage": "last_message", "unreadCount": "unread_count"}


def selected_at(info: Info, *paths: Sequence[str]) -> frozenset[str]:
    """Names of the fields selected at any of `paths` below this field (`()`: directly below it).

    With PLAIN_EXECUTION on (the schema's `plain_execution`), remembered per field node, read from
    Strawberry's private `info._raw_info` (pinned Strawberry: tests/engine): converting the syntax
    tree into Strawberry's selected fields cost more than the page's plan. Off: worked out again
    from the public `info.selected_fields` on every call."""
    if not getattr(info.schema, "plain_execution", False):
        return _selected_at(info, paths)
    nodes = tuple(info._raw_info.field_nodes)
    key = (tuple(id(node) for node in nodes), paths)
    found = _SELECTED.get(key)
    if found is None:
        found = (nodes, _selected_at(info, paths))
        _SELECTED.put(key, found)
    return found[1]


def _selected_at(info: Info, paths: tuple[Sequence[str], ...]) -> frozenset[str]:
    selected: set[str] = set()
    for field in info.selected_fields:
        for path in paths:
            selected |= selected_names(field.selections, path)
    return frozenset(selected)


#: (field node ids, paths) -> (the nodes, kept so that their ids are not reused; the names)
_SELECTED: LRU[tuple, tuple[tuple, frozenset[str]]] = LRU(4096)


def wanted_relations(info: Info, *paths: Sequence[str]) -> set[str]:
    """The relations (services/chats/chat_relations.py's names) the selection asks of the chats found
    at any of `paths` below this field."""
    return {_RELATIONS[name] for name in selected_at(info, *paths) if name in _RELATIONS}


#: GraphQL field of Chat -> the columns of the chat's read model (services/chats/read_models.ChatRow)
#: its value is made of. A field not named here reads every column: only fields whose every
#: path reads these attributes alone are named (schema/chats/chat.py: the field, or its
#: resolver's `self.` reads through Chat.from_model); tests/graphql/test_prefetch.py checks each
#: field of Chat against a single chat's answer.
CHAT_COLUMNS: dict[str, tuple[str, ...]] = {
    "__typename": (), "id": (), "number": (), "kind": ("kind",), "title": ("title",), "status": ("status",),
    "pinned": ("pinned",), "priority": ("priority",), "waitingFirstResponse": ("first_response_at",),
    "createdAt": ("created_at",), "answeredAt": ("answered_at",), "firstResponseAt": ("first_response_at",),
    "closedAt": ("closed_at",), "autoCloseAt": ("auto_close_at",), "client": ("client_id",),
    "operator": ("operator_id",), "openChannel": ("open_channel_id",), "lastMessage": (), "unreadCount": (),
}
#: the same for Message (services/chats/read_models.MessageRow; schema/chats/message.py)
MESSAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "__typename": (), "id": (), "text": ("text",), "silent": ("silent",), "authorKind": ("author_kind",),
    "createdAt": ("created_at",), "editedAt": ("edited_at",), "deleted": ("deleted",),
    "html": ("text", "author_id"), "author": ("author_id",), "chat": ("chat_id",),
}


def wanted_columns(info: Info, made_of: Mapping[str, tuple[str, ...]], *paths: Sequence[str]) -> frozenset[str] | None:
    """The columns of a read model the fields selected at any of `paths` are made of (`made_of`:
    CHAT_COLUMNS, MESSAGE_COLUMNS), or None (all of them) when one of those fields is not in it."""
    wanted: set[str] = set()
    for name in selected_at(info, *paths):
        made = made_of.get(name)
        if made is None:
            return None
        wanted.update(made)
    return frozenset(wanted)


def last_message_columns(info: Info, *paths: Sequence[str]) -> dict[str, frozenset[str]]:
    """The relations' columns a list of chats at `paths` reads (services/chats/chat_relations.relation_sql):
    those of their last messages; the other relations are read whole."""
    read = wanted_columns(info, MESSAGE_COLUMNS, *((*path, "lastMessage") for path in paths))
    return {} if read is None else {"last_message": read}


def wants_cursors(info: Info) -> bool:
    """Whether a connection's selection reads a cursor (an edge's, or pageInfo's first or last)."""
    return "cursor" in selected_at(info, ("edges",)) or bool(
        {"startCursor", "endCursor"} & selected_at(info, ("pageInfo",)))


def prime_relations(info: Info, found: dict[int, dict[str, Any]]) -> None:
    """The operators of a page's loaded relations (by chat id) go to the request's loader (when it is
    first used): the rest of the selection reads them without a query. The schema hands each chat its
    relations (schema/chats/prefetched.py)."""
    info.context.loaders.prime_operators(found)
