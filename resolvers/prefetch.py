"""Prefetching a page of chats' relations from the query's selection, into plain values.

Why: a relation resolved per row (an async resolver awaiting a DataLoader) costs a coroutine,
a future and an await for every row and every field; on a 50-chat list that machinery cost
more than the SQL. Here each relation the selection asks for is loaded for the whole page at
once, through the same per-request loaders (one query per relation, however long the page),
and handed to the chats; their resolvers then return it without awaiting anything. Relations
that are not selected are not loaded at all.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from schema.chat import Chat
from schema.client import Client
from schema.message import Message
from schema.open_channel import OpenChannel
from schema.operator import Operator


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


async def prefetch_chats(info: Info, chats: list[Chat], *paths: Sequence[str]) -> None:
    """Load what the selection asks of `chats` (found at any of `paths` below this field)."""
    if not chats:
        return
    wanted: set[str] = set()
    for field in info.selected_fields:
        for path in paths:
            wanted |= selected_names(field.selections, path)
    loaders = info.context.loaders
    fetches = []
    if "client" in wanted:
        fetches.append(_fill(chats, "client", "client_pk", loaders.client, Client.from_model))
    if "operator" in wanted:
        fetches.append(_fill(chats, "operator", "operator_pk", loaders.operator, Operator.from_model))
    if "openChannel" in wanted:
        fetches.append(_fill(chats, "open_channel", "channel_pk", loaders.open_channel, OpenChannel.from_model))
    if "lastMessage" in wanted:
        fetches.append(_fill(chats, "last_message", "pk", loaders.last_message, Message.from_model))
    if "unreadCount" in wanted:
        fetches.append(_fill(chats, "unread_count", "pk", loaders.unread_count, lambda count: count))
    await asyncio.gather(*fetches)


async def _fill(chats: list[Chat], name: str, key: str, loader: Any, convert: Any) -> None:
    """One batch for the page, straight through the loader's batch function (no future per key);
    the loader is primed so that a later load of these keys in the request needs no query."""
    keys = [getattr(chat, key) for chat in chats]
    unique = sorted({k for k in keys if k is not None})
    found = dict(zip(unique, await loader.load_fn(unique))) if unique else {}
    loader.prime_many(found)
    for chat, k in zip(chats, keys):
        value = found.get(k) if k is not None else None
        chat.prefetched[name] = convert(value) if value is not None else None
