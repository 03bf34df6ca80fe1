"""Entry points of the core: operators, open channels, the chat lifecycle and its subscriptions."""
from __future__ import annotations

from typing import AsyncGenerator

import strawberry

from resolvers.chats import mutations as m
from resolvers.chats import queries as q
from resolvers.chats import subscriptions as s
from schema.chats.chat import Chat, MyChats
from schema.common import Node
from schema.chats.events import ChatEvent, QueueEvent
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Me, Operator
from schema.payloads import (
    ChatPayload, LoginPayload, LogoutPayload, MessagePayload, OpenChannelPayload, OperatorPayload, PreferencesPayload,
    RevokeOperatorTokensPayload, StartVisitorChatPayload,
)


@strawberry.type
class CoreQuery:
    node: Node | None = strawberry.field(
        resolver=q.node,
        description="Any object by its global ID, if you may see it (null otherwise). A string that is no "
                    "object's global ID is an INVALID_INPUT error.",
    )
    me: Me = strawberry.field(resolver=q.me, description="The signed-in operator.")
    operators: list[Operator] = strawberry.field(resolver=q.operators_list, description="Every operator.")
    open_channels: list[OpenChannel] = strawberry.field(
        resolver=q.open_channels_list,
        description="Open channels I am a queue member of (supervisors and admins: all).",
    )
    chat: Chat | None = strawberry.field(
        resolver=q.chat,
        description="A chat by ID; null if you may not see it. An ID that is not a Chat's is an INVALID_INPUT error.",
    )
    my_chats: MyChats = strawberry.field(resolver=q.my_chats, description="The messenger sidebar: my chats, grouped.")
    visitor_chat: Chat | None = strawberry.field(
        resolver=q.visitor_chat, description="The visitor's own chat (visitor token only)."
    )


@strawberry.type
class CoreMutation:
    login: LoginPayload = strawberry.mutation(resolver=m.login, description="Sign in; returns a bearer token.")
    logout: LogoutPayload = strawberry.mutation(
        resolver=m.logout,
        description="Sign out: revoke the token of this request (`everywhere`: every token of mine). "
                    "WebSockets opened with it are closed with 4403 within TOKEN_CACHE_SECONDS (1 s when 0).",
    )
    revoke_operator_tokens: RevokeOperatorTokensPayload = strawberry.mutation(
        resolver=m.revoke_operator_tokens,
        description="Admins: sign an operator out everywhere (every token of theirs is revoked, their "
                    "WebSockets closed with 4403 within TOKEN_CACHE_SECONDS, 1 s when 0).",
    )

    # a new chat
    rename_chat: ChatPayload = strawberry.mutation(resolver=m.rename_chat)
    mark_chat_spam: ChatPayload = strawberry.mutation(
        resolver=m.mark_chat_spam, description="Finish the chat as spam: no rating request is sent."
    )
    answer_chat: ChatPayload = strawberry.mutation(
        resolver=m.answer_chat, description="Take a queued chat: you become responsible for it."
    )
    skip_chat: ChatPayload = strawberry.mutation(
        resolver=m.skip_chat, description="Pass an offered chat on to the next operator of the queue."
    )
    transfer_chat: ChatPayload = strawberry.mutation(
        resolver=m.transfer_chat, description="Hand the chat to another operator or open channel."
    )
    intercept_chat: ChatPayload = strawberry.mutation(
        resolver=m.intercept_chat, description="Take the conversation over from another operator."
    )

    # an answered chat
    add_chat_participants: ChatPayload = strawberry.mutation(resolver=m.add_chat_participants)
    finish_chat: ChatPayload = strawberry.mutation(resolver=m.finish_chat)
    pin_chat: ChatPayload = strawberry.mutation(
        resolver=m.pin_chat, description="Lock the chat as mine (no auto-close), or release it."
    )
    mark_chat_read: ChatPayload = strawberry.mutation(resolver=m.mark_chat_read)
    send_message: MessagePayload = strawberry.mutation(resolver=m.send_message)

    # me
    update_preferences: PreferencesPayload = strawberry.mutation(resolver=m.update_preferences)
    set_status: OperatorPayload = strawberry.mutation(resolver=m.set_status)

    # administration (ADMIN)
    create_operator: OperatorPayload = strawberry.mutation(resolver=m.create_operator)
    create_open_channel: OpenChannelPayload = strawberry.mutation(resolver=m.create_open_channel)
    update_open_channel: OpenChannelPayload = strawberry.mutation(resolver=m.update_open_channel)

    # the visitor side
    start_visitor_chat: StartVisitorChatPayload = strawberry.mutation(
        resolver=m.start_visitor_chat, description="Public: a client starts a chat and receives a visitor token."
    )
    send_visitor_message: MessagePayload = strawberry.mutation(resolver=m.send_visitor_message)


@strawberry.type
class CoreSubscription:
    queue_changed: AsyncGenerator[QueueEvent, None] = strawberry.subscription(
        resolver=s.queue_changed,
        description="Queue changes of the given open channels (all the viewer may see when omitted).",
    )
    chat_events: AsyncGenerator[ChatEvent, None] = strawberry.subscription(
        resolver=s.chat_events, description="Everything that happens in one chat."
    )
    message_added: AsyncGenerator[Message, None] = strawberry.subscription(
        resolver=s.message_added,
        description="New messages in every chat the viewer takes part in (or in one chat).",
    )
    my_chats_changed: AsyncGenerator[ChatEvent, None] = strawberry.subscription(
        resolver=s.my_chats_changed,
        description="Changes to the viewer's own chat list: offers, answers, unread counters.",
    )
    visitor_chat_events: AsyncGenerator[ChatEvent, None] = strawberry.subscription(
        resolver=s.visitor_chat_events,
        description="The visitor's own chat, silent messages excluded (visitor token only).",
    )
