"""Per-request loaders of what hangs off a message: attachments, reply and quote, mentions, the
event that added it, and messages reachable from tasks and feed posts (as far as the viewer may read them).

They hang off the core `Loaders` of the request (`loaders.messaging`), with its lifetime:
one request, or one subscription event.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from resolvers.dataloader import DataLoader

from models import Attachment, Message, MessageMention, MessageReference
from services.chats.reads import visible_chat_ids
from services.events.cursors import message_event_ids
from services.policies import messages as message_policy


class MessagingLoaders:
    def __init__(self, core: Any) -> None:
        self.core = core
        self.viewer = core.viewer
        self.attachments = DataLoader(self._attachments)
        self.reference = DataLoader(self._reference)
        self.mention_ids = DataLoader(self._mention_ids)
        self.readable_message = DataLoader(self._readable_message)
        self.event_id = DataLoader(self._event_id)

    async def _attachments(self, message_ids: list[int]) -> list[list[Attachment]]:
        groups: dict[int | None, list[Attachment]] = defaultdict(list)
        for row in await Attachment.filter(message_id__in=message_ids).order_by("id"):
            groups[row.message_id].append(row)
        return [groups.get(i, []) for i in message_ids]

    async def _reference(self, message_ids: list[int]) -> list[MessageReference | None]:
        rows = {r.message_id: r for r in await MessageReference.filter(message_id__in=message_ids)}
        return [rows.get(i) for i in message_ids]

    async def _mention_ids(self, message_ids: list[int]) -> list[list[int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for message_id, operator_id in await MessageMention.filter(message_id__in=message_ids).order_by("id") \
                .values_list("message_id", "operator_id"):
            groups[message_id].append(operator_id)
        return [groups.get(i, []) for i in message_ids]

    async def _event_id(self, keys: list[tuple[int, int]]) -> list[int]:
        """The MESSAGE_ADDED event of each (message id, chat id) (services/events/cursors.py)."""
        found = await message_event_ids(keys)
        return [found[message_id] for message_id, _ in keys]

    async def _readable_message(self, message_ids: list[int]) -> list[Message | None]:
        """Messages the viewer may read (a chat they see, no silent note for a visitor), else None."""
        messages = [m for m in await self.core.message.load_many(message_ids) if m is not None]
        readable_chats = await visible_chat_ids(self.viewer, sorted({m.chat_id for m in messages}))
        by_id = {m.id: m for m in messages
                 if m.chat_id in readable_chats and message_policy.can_read_text(self.viewer, silent=m.silent)}
        return [by_id.get(i) for i in message_ids]

