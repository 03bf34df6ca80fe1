"""The chat state machine, in one place.

    QUEUED --answer--> ACTIVE --finish--> CLOSED
    QUEUED --skip / transfer--> QUEUED          ACTIVE --transfer--> QUEUED
    ACTIVE --intercept / pin / add participants / send message--> ACTIVE
    QUEUED, ACTIVE --spam--> SPAM               any --rename--> same
    QUEUED, ACTIVE --the client finishes--> CLOSED
    QUEUED --offer expires--> QUEUED            ACTIVE --auto-close (idle, not pinned)--> CLOSED
    CLOSED --rate--> CLOSED
    QUEUED, ACTIVE --set priority--> same      any --label--> same
    QUEUED --no answer in time (keep waiting, message, transfer)--> QUEUED
    QUEUED --no answer in time (close)--> CLOSED

Every transition is one conditional UPDATE (`WHERE id = ? AND status IN (...)`): the row
count says whether this caller won. There is no read-then-write without it.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

from models import Chat, ChatStatus
from services.chats.sla import stop_clocks
from services.common.errors import AlreadyTaken, InvalidState

QUEUED, ACTIVE, CLOSED, SPAM = ChatStatus.QUEUED, ChatStatus.ACTIVE, ChatStatus.CLOSED, ChatStatus.SPAM


class Action(str, Enum):
    ANSWER = "answer"
    SKIP = "skip"
    TRANSFER = "transfer"
    INTERCEPT = "intercept"
    FINISH = "finish"
    SPAM = "mark as spam"
    PIN = "pin"
    RENAME = "rename"
    ADD_PARTICIPANTS = "add participants to"
    SEND_MESSAGE = "send a message to"
    VISITOR_MESSAGE = "write to"
    EXPIRE_OFFER = "let the offer expire on"
    AUTO_CLOSE = "auto-close"
    RATE = "rate"
    SET_PRIORITY = "change the priority of"
    LABEL = "label"
    VISITOR_FINISH = "finish"
    NO_ANSWER = "apply the no-answer rule to"
    NO_ANSWER_CLOSE = "close by the no-answer rule"


#: action -> (statuses it may start from, status it leaves; None keeps the status)
TRANSITIONS: dict[Action, tuple[frozenset[ChatStatus], ChatStatus | None]] = {
    Action.ANSWER: (frozenset({QUEUED}), ACTIVE),
    Action.SKIP: (frozenset({QUEUED}), QUEUED),
    Action.TRANSFER: (frozenset({QUEUED, ACTIVE}), QUEUED),
    Action.INTERCEPT: (frozenset({ACTIVE}), ACTIVE),
    Action.FINISH: (frozenset({ACTIVE}), CLOSED),
    Action.SPAM: (frozenset({QUEUED, ACTIVE}), SPAM),
    Action.PIN: (frozenset({ACTIVE}), ACTIVE),
    Action.RENAME: (frozenset({QUEUED, ACTIVE, CLOSED, SPAM}), None),
    Action.ADD_PARTICIPANTS: (frozenset({ACTIVE}), None),
    Action.SEND_MESSAGE: (frozenset({ACTIVE}), None),
    Action.VISITOR_MESSAGE: (frozenset({QUEUED, ACTIVE}), None),
    Action.EXPIRE_OFFER: (frozenset({QUEUED}), QUEUED),
    Action.AUTO_CLOSE: (frozenset({ACTIVE}), CLOSED),
    Action.RATE: (frozenset({CLOSED}), None),
    Action.SET_PRIORITY: (frozenset({QUEUED, ACTIVE}), None),
    Action.LABEL: (frozenset({QUEUED, ACTIVE, CLOSED, SPAM}), None),
    Action.VISITOR_FINISH: (frozenset({QUEUED, ACTIVE}), CLOSED),
    Action.NO_ANSWER: (frozenset({QUEUED}), None),
    Action.NO_ANSWER_CLOSE: (frozenset({QUEUED}), CLOSED),
}


def allowed_from(action: Action) -> frozenset[ChatStatus]:
    return TRANSITIONS[action][0]


def ensure_allowed(action: Action, chat: Chat) -> None:
    """INVALID_STATE (ALREADY_TAKEN when answering a chat someone answered) before any write."""
    if chat.status not in allowed_from(action):
        if action is Action.ANSWER and chat.status == ACTIVE:
            raise AlreadyTaken("Another operator has already answered this chat.")
        raise InvalidState(
            f"Cannot {action.value} a chat that is {chat.status.value}.", field=["input", "chatId"]
        )


async def transition(uow: Any, chat: Chat, action: Action, *, expect: dict[str, Any] | None = None, **changes: Any) -> None:
    """Apply `action` to `chat` if, at the moment of the UPDATE, it is still in a state that allows it.

    `expect` adds conditions (e.g. the responsible operator did not change meanwhile).
    On success the in-memory `chat` is updated too.
    """
    ensure_allowed(action, chat)
    starts, result = TRANSITIONS[action]
    conditions = dict(expect or {})
    if result is not None:
        changes["status"] = result
    elif not changes:
        # nothing to change but the state must still hold at this moment: a no-op write proves it
        changes["status"] = conditions["status"] = chat.status
    won = await Chat.filter(id=chat.id, status__in=list(starts), **conditions).using_db(uow.tx).update(**changes)
    if not won:
        if action is Action.ANSWER:
            raise AlreadyTaken("Another operator has already answered this chat.")
        raise InvalidState(f"The chat changed meanwhile; cannot {action.value} it now.", field=["input", "chatId"])
    for name, value in changes.items():
        setattr(chat, name, value)
    if result in (CLOSED, SPAM):
        await stop_clocks(uow, chat.id)  # a finished chat's service-level clocks stop (services/chats/sla.py)
