"""Typing: "someone is writing in this chat", live only.

A typing signal is not an event: it is not stored, not replayed, and a lost one stays lost
(infrastructure/signals.py). It goes through the broker to every process (`Broker.publish_signal`,
topic `typing:<chat id>`) and each subscription passes on what its viewer may receive
(services/policies/typing_signals.py: a silent note's signal reaches operators only).

Each sender has a budget per chat: TYPING_BURST signals at once, refilled at TYPING_PER_SECOND
(`SignalBudget`, in memory per process); a signal over it is dropped and the call says so.
"""
from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infrastructure.broker import Broker
from infrastructure.signals import SignalBudget
from models import Chat, ChatStatus, MessageAuthorKind
from services.chats import queue
from services.chats.chat_states import Action, ensure_allowed
from services.chats.visitors import visitor_chat
from services.common.errors import InvalidInput, InvalidState, NotFound
from services.identity.viewer import Viewer, require_signed_in, require_visitor
from services.policies import chats as chat_policy
from services.policies import typing_signals as policy

#: a sender's signals per second in one chat, and how many may go at once
TYPING_PER_SECOND = 3.0
TYPING_BURST = 3
#: how long a subscription trusts its check that the viewer may see the chat
RECHECK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class TypingSignal:
    """One typing signal, typed: the broker carries its JSON wire form (`to_wire`, `of_wire`)."""

    chat_id: int
    author_kind: MessageAuthorKind
    #: the operator typing; None when it is the client
    operator_id: int | None
    typing: bool
    #: typing a silent note: operators only
    silent: bool
    at: datetime

    def to_wire(self) -> dict[str, Any]:
        return {"chat_id": self.chat_id, "author_kind": self.author_kind.value, "operator_id": self.operator_id,
                "typing": self.typing, "silent": self.silent, "at": self.at.isoformat()}

    @classmethod
    def of_wire(cls, wire: dict[str, Any]) -> TypingSignal:
        return cls(chat_id=int(wire["chat_id"]), author_kind=MessageAuthorKind(wire["author_kind"]),
                   operator_id=wire["operator_id"], typing=bool(wire["typing"]), silent=bool(wire["silent"]),
                   at=datetime.fromisoformat(wire["at"]))


def topic(chat_id: int) -> str:
    return f"typing:{chat_id}"


async def set_typing(viewer: Viewer, *, chat_id: int, typing: bool, silent: bool = False,
                     broker: Broker, budget: SignalBudget) -> bool:
    """An operator starts or stops typing in a chat they may write in (an answered one);
    `silent`: a silent note, for operators only. False: the signal was dropped (over the
    budget, or the broker could not carry it)."""
    chat = await policy.chat_to_type_in(viewer, chat_id)
    ensure_allowed(Action.SEND_MESSAGE, chat)
    return await _send(chat, broker, budget, author_kind=MessageAuthorKind.OPERATOR,
                       operator_id=viewer.operator_id, typing=typing, silent=silent)


async def set_visitor_typing(viewer: Viewer, *, typing: bool, broker: Broker, budget: SignalBudget) -> bool:
    """The visitor starts or stops typing in their open chat (queued or answered)."""
    require_visitor(viewer)
    chat = await chat_policy.visible_chats(viewer).filter(
        status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE]).order_by("-id").first()
    if chat is None:
        raise InvalidState("You have no open chat: send a message to start one.")
    return await _send(chat, broker, budget, author_kind=MessageAuthorKind.CLIENT, operator_id=None,
                       typing=typing, silent=False)


async def _send(chat: Chat, broker: Broker, budget: SignalBudget, *, author_kind: MessageAuthorKind,
                operator_id: int | None, typing: bool, silent: bool) -> bool:
    sender = ("operator", operator_id) if operator_id is not None else ("client", chat.client_id)
    if not budget.take((*sender, chat.id), per_second=TYPING_PER_SECOND, burst=TYPING_BURST):
        return False
    return await broker.publish_signal(topic(chat.id), TypingSignal(
        chat_id=chat.id, author_kind=author_kind, operator_id=operator_id, typing=typing, silent=silent,
        at=queue.now()).to_wire())


async def followed_chat(viewer: Viewer, chat_id: int | None) -> Chat:
    """The chat whose typing the viewer follows: one they may see (NOT_FOUND otherwise); a
    visitor's own current chat when `chat_id` is omitted (an operator must name one)."""
    require_signed_in(viewer)
    if chat_id is not None:
        return await chat_policy.get_visible_chat(viewer, chat_id)
    if not viewer.is_visitor:
        raise InvalidInput("Pass `chatId`: an operator follows typing in one chat.", field=["chatId"])
    chat = await visitor_chat(viewer)
    if chat is None:
        raise NotFound("You have no chat yet.", field=["chatId"])
    return chat


async def follow_typing(viewer: Viewer, chat_id: int | None, *, broker: Broker,
                        current_viewer: Callable[[], Viewer] | None = None,
                        clock: Callable[[], float] = time.monotonic) -> AsyncGenerator[TypingSignal, None]:
    """Typing signals of one chat that the viewer receives, live (nothing from before).

    The chat is checked at subscribe time; then at most every RECHECK_SECONDS, and whenever
    the viewer changed (`current_viewer`: a WebSocket's viewer follows its token), that they
    still may see it: one who lost it receives nothing more."""
    chat = await followed_chat(viewer, chat_id)
    subscriber = broker.signals.subscribe(topic(chat.id))
    checked, may_see, checked_at = viewer, True, clock()
    try:
        await broker.live(signals=True)  # with Redis: the signal channel is subscribed while someone follows
        while True:
            signal = TypingSignal.of_wire(await subscriber.get())
            now = current_viewer() if current_viewer is not None else viewer
            if now != checked or clock() - checked_at >= RECHECK_SECONDS:
                checked, may_see, checked_at = now, await chat_policy.can_read(now, chat.id), clock()
            if may_see and policy.can_receive(now, author_kind=signal.author_kind.value,
                                              operator_id=signal.operator_id, silent=signal.silent):
                yield signal
    finally:
        broker.signals.unsubscribe(subscriber)
