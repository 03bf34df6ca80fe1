"""A page's relations, loaded with the page (resolvers/prefetch.py, services/chats/chat_relations.py),
handed to its chats as the schema's types: their resolvers, or the plan of schema/plain_execution.py,
return them without awaiting anything."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from schema.chats.chat import Chat
from schema.chats.client import Client
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Operator

#: a relation's name in services/chats/chat_relations.py and Chat.prefetched -> its conversion
_CONVERT = {"client": Client.from_model, "operator": Operator.from_model, "open_channel": OpenChannel.from_model,
            "last_message": Message.from_model, "unread_count": None}
#: relations whose rows a page's chats share (the relations' reader reads an operator once per
#: statement): converted once per row
_SHARED = frozenset({"operator"})


def attach_relations(chats: list[Chat], found: dict[int, dict[str, Any]]) -> None:
    """Hand each chat its loaded relations (by chat id), converted to the schema's types. Every
    chat's relations come from one reader (services/chats/chat_relations.py): the same names."""
    first = next(iter(found.values()), None)
    if first is not None:
        _attacher(tuple(first))(chats, found)


@functools.lru_cache(maxsize=64)
def _attacher(names: tuple[str, ...]) -> Callable[[list[Chat], dict[int, dict[str, Any]]], None]:
    """attach_relations for chats whose relations are `names`, generated: each relation converted
    inline (a 50-chat page attaches some 200; a loop over them, looking up each one's conversion,
    cost as much as the conversions)."""
    env: dict[str, Any] = {}
    lines = ["def attach(chats, found):",
             "    shared = {}  # one object per shared row: a page's chats share their operator",
             "    for chat in chats:",
             "        relations = found.get(chat.pk)",
             "        if relations is None:  # gone since the list was read: the resolvers load it as usual",
             "            continue",
             "        prefetched = chat.prefetched"]
    for index, name in enumerate(names):
        convert, value = _CONVERT[name], f"v{index}"
        lines.append(f"        {value} = relations[{name!r}]")
        if convert is not None:
            env[f"convert_{index}"] = convert
            converted = f"convert_{index}({value})"
            if name in _SHARED:
                converted = (f"done if (done := shared.get(id({value}))) is not None "
                             f"else shared.setdefault(id({value}), {converted})")
            lines += [f"        if {value} is not None:", f"            {value} = {converted}"]
        lines.append(f"        prefetched[{name!r}] = {value}")
    exec(compile("\n".join(lines) + "\n", "<attach relations>", "exec"), env)  # noqa: S102 - names from _CONVERT
    return env["attach"]
