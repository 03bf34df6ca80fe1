"""Who may read text copied from a message: a copy keeps the audience of its message.

A visible message was written for the client and the chat's operators; its text may go
wherever the copier may write (a quote the client reads still comes from the client's own
chats: services/messaging/messaging.py). A silent note was written for those who may read its chat
(services/policies/chats.py's rule), and so is every copy of it:

- it never becomes, nor is quoted in, a message the client reads. A canned response saved
  from it is a silent one, and sendCannedResponse sends a silent canned response as a silent
  note (an internal template, as contact centers use them for escalation notes), never to the
  client;
- it is quoted only in a silent note of its own chat;
- it goes to named operators (a task's responsible, the colleagues of a discussion) only when
  each of them may read the note's chat;
- it never goes where nobody is checked: the feed, which every operator reads.

Every path that copies message text asks this one object: save as canned response,
sendMessage's quote, createTaskFromMessage, createFeedPostFromMessage, discussMessageInChat.
startConversationFromMessage quotes the source in a silent note of a new chat in the source's
own channel, whose readers (the caller, the channel's queue, supervisors) may all read the source.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from models import Message, Operator
from services.policies.chats import can_read
from services.common.errors import InvalidInput
from services.identity.viewer import Viewer


@dataclass(frozen=True)
class CopyAudience:
    """The audience of a copy of one message's text."""

    #: the source message's chat
    chat_id: int
    #: only those who may read `chat_id` (the source is a silent note): never the client, never everyone
    operators_of_chat: bool

    def refuse_client(self, field: list[str]) -> None:
        """The copy would be shown to the client."""
        if self.operators_of_chat:
            raise InvalidInput("A silent note is for operators: its text is never shown to the client.", field=field)

    def refuse_other_chat(self, chat_id: int, field: list[str]) -> None:
        """The copy would be read by whoever reads another chat."""
        if self.operators_of_chat and chat_id != self.chat_id:
            raise InvalidInput("A silent note can only be quoted in its own chat.", field=field)

    def refuse_everyone(self, field: list[str]) -> None:
        """The copy would be read by every operator."""
        if self.operators_of_chat:
            raise InvalidInput("A silent note is for those who may read its chat; it cannot be shared with everyone.",
                               field=field)

    async def refuse_unread_by_client(self, client_id: int, field: list[str],
                                      using: BaseDBAsyncClient | None = None) -> None:
        """The copy would be read by this client: its source must be a chat the client may read."""
        if not await can_read(Viewer(client_id=client_id), self.chat_id, using):
            raise InvalidInput("A message the client sees can only quote the client's own chats.", field=field)

    async def refuse_outsiders(self, operator_ids: Iterable[int], field: list[str],
                               using: BaseDBAsyncClient | None = None) -> None:
        """The copy would be read by these operators: each must be allowed to read the note's chat."""
        if not self.operators_of_chat:
            return
        for operator in await Operator.filter(id__in=sorted(set(operator_ids))).using_db(using):
            reader = Viewer(operator_id=operator.id, role=operator.role)
            if not await can_read(reader, self.chat_id, using):
                raise InvalidInput(f"{operator.name} may not read this silent note's chat, so may not get its text.",
                                   field=field)


def audience_of_copy(message: Message) -> CopyAudience:
    """Who may read a copy of this message's text (see the module docstring)."""
    return CopyAudience(chat_id=message.chat_id, operators_of_chat=message.silent)
