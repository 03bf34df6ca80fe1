"""A chat's priority: how urgent it is. The queue offers waiting chats by priority, highest
first, then oldest first (services/chats/queue.py `offer_waiting_chats`). Who may change it:
services/policies/chats.py `ChatRoles.can_prioritise`."""
from __future__ import annotations

from models import Chat, ChatPriority
from services.chats.audience import audience
from services.chats.chat_states import Action, ensure_allowed, transition
from services.common.errors import InvalidInput
from services.events.events import unit_of_work
from services.identity.viewer import Viewer
from services.policies.chats import ensure, operator_chat

#: the order of priorities, lowest first (the queue offers the highest rank first)
RANK = {ChatPriority.LOW: 0, ChatPriority.NORMAL: 1, ChatPriority.HIGH: 2, ChatPriority.URGENT: 3}


def parse_priority(value: object, field: list[str]) -> ChatPriority:
    try:
        return ChatPriority(getattr(value, "value", value))
    except ValueError:
        raise InvalidInput("Not a priority: LOW, NORMAL, HIGH or URGENT.", field=field)


async def set_chat_priority(viewer: Viewer, *, chat_id: int, priority: ChatPriority) -> Chat:
    """Change a waiting or answered chat's priority (a PRIORITY_CHANGED queue event). Unchanged: no event."""
    priority = parse_priority(priority, ["input", "priority"])
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        ensure(roles.can_prioritise(chat),
               "Only the chat's operators, its queue while it waits, or a supervisor can change its priority.")
        ensure_allowed(Action.SET_PRIORITY, chat)
        if chat.priority == priority:
            return chat
        await transition(uow, chat, Action.SET_PRIORITY, priority=priority)
        uow.record("PRIORITY_CHANGED", chat=chat, queue_kind="PRIORITY_CHANGED", chat_kind="CHAT_UPDATED",
                   operator_ids=await audience(uow, chat))
    return chat
