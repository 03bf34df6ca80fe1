"""Shared set-ups of the messaging tests (plain async functions: call them inside a `db` test)."""
from __future__ import annotations

from dataclasses import dataclass

from models import Chat, OpenChannel, Operator
from resolvers.ids import to_global_id
from services.chats import chats
from services.identity.viewer import Viewer
from tests.factories import make_open_channel, make_operator, start_chat


@dataclass
class AnsweredChat:
    chat: Chat
    channel: OpenChannel
    operator: Operator
    me: Viewer
    colleague: Operator
    colleague_viewer: Viewer
    outsider: Operator
    outsider_viewer: Viewer
    visitor: Viewer
    visitor_token: str

    @property
    def chat_gid(self) -> str:
        return to_global_id("Chat", self.chat.id)


async def answered_chat(client_name: str = "Ann Client") -> AnsweredChat:
    """A chat `me` answered; `colleague` is in the same queue; `outsider` is in another channel's."""
    operator, me = await make_operator("Olga Operator")
    colleague, colleague_viewer = await make_operator("Carl Colleague")
    outsider, outsider_viewer = await make_operator("Otto Outsider")
    channel = await make_open_channel([operator, colleague])
    await make_open_channel([outsider])
    chat, visitor, visitor_token = await start_chat(channel, name=client_name)
    await chats.answer_chat(me, chat_id=chat.id)
    return AnsweredChat(chat, channel, operator, me, colleague, colleague_viewer, outsider, outsider_viewer, visitor,
                        visitor_token)


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)
