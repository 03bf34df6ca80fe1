"""A page's relations, loaded with the page (resolvers/prefetch.py, services/chats/chat_relations.py),
handed to its chats as the schema's types: their resolvers, or the plan of schema/plain_execution.py,
return them without awaiting anything."""
from __future__ import annotations

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
    """Hand each chat its loaded relations (by chat id), converted to the schema's types."""
    shared: dict[int, Any] = {}  # one object per shared row: a page's chats share their operator
    for chat in chats:
        relations = found.get(chat.pk)
        if relations is None:  # gone since the list was read: the resolvers load it as usual
            continue
        prefetched = chat.prefetched
        for name, value in relations.items():
            convert = _CONVERT[name]
            if value is not None and convert is not None:
                if name in _SHARED:
                    done = shared.get(id(value))
                    if done is None:
                        done = shared[id(value)] = convert(value)
                    value = done
                else:
                    value = convert(value)
            prefetched[name] = value
