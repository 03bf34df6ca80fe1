"""Entry points of the core: operators, open channels, the chat lifecycle and its subscriptions.

Each root field calls its resolver (resolvers/chats/) and builds the GraphQL types from what it
returns: models, service results, or a mutation's outcome (schema/payloads.py)."""
from __future__ import annotations

from contextlib import aclosing
from typing import Any, AsyncGenerator, Callable

import strawberry
from strawberry.types import Info

from resolvers.chats import labels as lb
from resolvers.chats import mutations as m
from resolvers.chats import queue_standing as qs
from resolvers.chats import sla as sl
from resolvers.chats import queries as q
from resolvers.chats import subscriptions as s
from resolvers.chats import typing_signals as t
from schema import inputs
from schema.chats.chat import Chat, MyChats
from schema.chats.client import Client
from schema.chats.labels import CreateLabelInput, Label, LabelPayload, SetChatLabelsInput
from schema.chats.prefetched import attach_relations
from schema.chats.sla import SlaPolicy, SlaPolicyInput, SlaPolicyPayload, UpdateSlaPolicyInput
from schema.common import Node
from schema.chats.events import ChatEvent, QueueEvent
from schema.chats.message import Attachment, Message
from schema.chats.open_channel import OpenChannel, WidgetSettings
from schema.chats.operator import Me, Operator, OperatorPreferences
from schema.chats.queue_standing import VisitorQueueStatus
from schema.chats.typing_signals import SetTypingInput, SetVisitorTypingInput, TypingEvent
from schema.contact_center.crm import CrmCompany, CrmContact, CrmDeal, CrmLead
from schema.automation.webhooks import Webhook
from schema.contact_center.sales import Order, Product
from schema.messaging.messaging import CannedResponse, FeedPost, Task
from schema.payloads import (
    ChatPayload, IdentitySecretPayload, LoginPayload, LogoutPayload, MessagePayload, OpenChannelPayload,
    OperatorPayload, PreferencesPayload, RevokeOperatorTokensPayload, StartVisitorChatPayload, chat_payload, message_payload, payload, user_errors,
)

#: type name -> its type made of what resolvers/chats/queries.py's node() found
_NODE_TYPES: dict[str, Callable[[Info, Any], Node]] = {
    "Chat": lambda info, found: Chat.from_model(found),
    "Message": lambda info, found: Message.from_model(found),
    "Operator": lambda info, found: Operator.from_model(found),
    "OpenChannel": lambda info, found: OpenChannel.from_model(found),
    "Client": lambda info, found: Client.from_model(found),
    "CrmContact": lambda info, found: CrmContact.from_model(found),
    "CrmCompany": lambda info, found: CrmCompany.from_model(found),
    "CrmDeal": lambda info, found: CrmDeal.from_model(found),
    "CrmLead": lambda info, found: CrmLead.from_model(found),
    "Product": lambda info, found: Product.from_model(found),
    "Order": lambda info, found: Order.from_model(found),
    "Attachment": lambda info, found: Attachment.from_model(found, info.context.viewer, info.context.platform.files),
    "CannedResponse": lambda info, found: CannedResponse.from_model(found),
    "Task": lambda info, found: Task.from_model(found),
    "FeedPost": lambda info, found: FeedPost.from_model(found),
    "Label": lambda info, found: Label.from_model(found),
    "SlaPolicy": lambda info, found: SlaPolicy.from_model(found),
    "Webhook": lambda info, found: Webhook.from_model(found),
}


@strawberry.type
class CoreQuery:
    @strawberry.field(description="Any object by its global ID, if you may see it (null otherwise). A string that "
                                  "is no object's global ID is an INVALID_INPUT error.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        found = await q.node(info, id)
        return None if found is None else _NODE_TYPES[found[0]](info, found[1])

    @strawberry.field(description="The signed-in operator.")
    async def me(self, info: Info) -> Me:
        operator = await q.me(info)
        return Me(operator=Operator.from_model(operator), preferences=OperatorPreferences.from_model(operator))

    @strawberry.field(description="Every operator.")
    async def operators(self, info: Info) -> list[Operator]:
        return [Operator.from_model(o) for o in await q.operators_list(info)]

    @strawberry.field(description="Open channels I am a queue member of (supervisors and admins: all).")
    async def open_channels(self, info: Info) -> list[OpenChannel]:
        return [OpenChannel.from_model(c) for c in await q.open_channels_list(info)]

    @strawberry.field(description="Public (no token needed): what the website widget shows before the visitor's "
                                  "first message: the channel's name, language, rating, hours and contact fields. "
                                  "null for an unknown channel. An ID that is not an OpenChannel's is an "
                                  "INVALID_INPUT error.")
    async def widget_settings(self, info: Info, open_channel_id: strawberry.ID) -> WidgetSettings | None:
        found = await q.widget_settings(info, open_channel_id)
        return WidgetSettings.from_value(found) if found else None

    @strawberry.field(description="A chat by ID; null if you may not see it. An ID that is not a Chat's is an "
                                  "INVALID_INPUT error.")
    async def chat(self, info: Info, id: strawberry.ID) -> Chat | None:
        found = await q.chat(info, id)
        return Chat.from_model(found) if found else None

    @strawberry.field(description="The messenger sidebar: my chats, grouped.")
    async def my_chats(self, info: Info) -> MyChats:
        groups = await q.my_chats(info)
        result = MyChats(
            offered=[Chat.from_model(c) for c in groups.offered],
            waiting_first_response=[Chat.from_model(c) for c in groups.waiting_first_response],
            active=[Chat.from_model(c) for c in groups.active],
            internal=[Chat.from_model(c) for c in groups.internal],
        )
        chats = [*result.offered, *result.waiting_first_response, *result.active, *result.internal]
        attach_relations(chats, groups.relations)  # read in the same statement
        return result

    @strawberry.field(description="Every label, by name (operators).")
    async def labels(self, info: Info) -> list[Label]:
        return [Label.from_model(label) for label in await lb.labels_list(info)]

    @strawberry.field(description="Every SLA policy, by name (operators).")
    async def sla_policies(self, info: Info) -> list[SlaPolicy]:
        return [SlaPolicy.from_model(p) for p in await sl.sla_policies_list(info)]

    @strawberry.field(description="The visitor's own chat (visitor token only).")
    async def visitor_chat(self, info: Info) -> Chat | None:
        found = await q.visitor_chat(info)
        return Chat.from_model(found) if found else None


def _operator_payload(outcome: Any) -> OperatorPayload:
    return payload(OperatorPayload, "operator", outcome, Operator.from_model)


def _open_channel_payload(outcome: Any) -> OpenChannelPayload:
    return payload(OpenChannelPayload, "open_channel", outcome, OpenChannel.from_model)


@strawberry.type
class CoreMutation:
    @strawberry.mutation(description="Sign in; returns a bearer token.")
    async def login(self, info: Info, input: inputs.LoginInput) -> LoginPayload:
        done = await m.login(info, input)
        if done.error is not None:
            return LoginPayload(token=None, operator=None, user_errors=user_errors(done))
        token, operator = done.value
        return LoginPayload(token=token, operator=Operator.from_model(operator), user_errors=[])

    @strawberry.mutation(
        description="Sign out: revoke the token of this request (`everywhere`: every token of mine). "
                    "WebSockets opened with it are closed with 4403 within TOKEN_CACHE_SECONDS (1 s when 0).")
    async def logout(self, info: Info, input: inputs.LogoutInput | None = None) -> LogoutPayload:
        done = await m.logout(info, input)
        return LogoutPayload(revoked_tokens=done.result or 0, user_errors=user_errors(done))

    @strawberry.mutation(
        description="Admins: sign an operator out everywhere (every token of theirs is revoked, their "
                    "WebSockets closed with 4403 within TOKEN_CACHE_SECONDS, 1 s when 0).")
    async def revoke_operator_tokens(self, info: Info,
                                     input: inputs.RevokeOperatorTokensInput) -> RevokeOperatorTokensPayload:
        done = await m.revoke_operator_tokens(info, input)
        if done.error is not None:
            return RevokeOperatorTokensPayload(operator=None, revoked_tokens=0, user_errors=user_errors(done))
        operator, revoked = done.value
        return RevokeOperatorTokensPayload(operator=Operator.from_model(operator), revoked_tokens=revoked,
                                           user_errors=[])

    # a new chat
    @strawberry.mutation
    async def rename_chat(self, info: Info, input: inputs.RenameChatInput) -> ChatPayload:
        return chat_payload(await m.rename_chat(info, input))

    @strawberry.mutation(description="Finish the chat as spam: no rating request is sent.")
    async def mark_chat_spam(self, info: Info, input: inputs.ChatInput) -> ChatPayload:
        return chat_payload(await m.mark_chat_spam(info, input))

    @strawberry.mutation(description="Take a queued chat: you become responsible for it.")
    async def answer_chat(self, info: Info, input: inputs.ChatInput) -> ChatPayload:
        return chat_payload(await m.answer_chat(info, input))

    @strawberry.mutation(description="Pass an offered chat on to the next operator of the queue.")
    async def skip_chat(self, info: Info, input: inputs.ChatInput) -> ChatPayload:
        return chat_payload(await m.skip_chat(info, input))

    @strawberry.mutation(description="Hand the chat to another operator or open channel.")
    async def transfer_chat(self, info: Info, input: inputs.TransferChatInput) -> ChatPayload:
        return chat_payload(await m.transfer_chat(info, input))

    @strawberry.mutation(description="Take the conversation over from another operator.")
    async def intercept_chat(self, info: Info, input: inputs.ChatInput) -> ChatPayload:
        return chat_payload(await m.intercept_chat(info, input))

    # an answered chat
    @strawberry.mutation
    async def add_chat_participants(self, info: Info, input: inputs.AddChatParticipantsInput) -> ChatPayload:
        return chat_payload(await m.add_chat_participants(info, input))

    @strawberry.mutation
    async def finish_chat(self, info: Info, input: inputs.ChatInput) -> ChatPayload:
        return chat_payload(await m.finish_chat(info, input))

    @strawberry.mutation(description="Lock the chat as mine (no auto-close), or release it.")
    async def pin_chat(self, info: Info, input: inputs.PinChatInput) -> ChatPayload:
        return chat_payload(await m.pin_chat(info, input))

    @strawberry.mutation
    async def mark_chat_read(self, info: Info, input: inputs.ChatInput) -> ChatPayload:
        return chat_payload(await m.mark_chat_read(info, input))

    @strawberry.mutation
    async def send_message(self, info: Info, input: inputs.SendMessageInput) -> MessagePayload:
        return message_payload(await m.send_message(info, input))

    @strawberry.mutation(
        description="Change a waiting or answered chat's priority: its operators, its queue while it waits, "
                    "supervisors. The queue offers higher priorities first.")
    async def set_chat_priority(self, info: Info, input: inputs.SetChatPriorityInput) -> ChatPayload:
        return chat_payload(await lb.set_chat_priority(info, input))

    # labels
    @strawberry.mutation(description="Admins: define a label.")
    async def create_label(self, info: Info, input: CreateLabelInput) -> LabelPayload:
        return payload(LabelPayload, "label", await lb.create_label(info, input), Label.from_model)

    @strawberry.mutation(description="Set the chat's labels: its operators and supervisors.")
    async def set_chat_labels(self, info: Info, input: SetChatLabelsInput) -> ChatPayload:
        return chat_payload(await lb.set_chat_labels(info, input))

    # service levels
    @strawberry.mutation(description="Admins: define an SLA policy (attach it to channels with updateOpenChannel's "
                                     "slaPolicyId).")
    async def create_sla_policy(self, info: Info, input: SlaPolicyInput) -> SlaPolicyPayload:
        return payload(SlaPolicyPayload, "sla_policy", await sl.create_sla_policy(info, input), SlaPolicy.from_model)

    @strawberry.mutation(description="Admins: change an SLA policy (clocks that start afterwards use it).")
    async def update_sla_policy(self, info: Info, input: UpdateSlaPolicyInput) -> SlaPolicyPayload:
        return payload(SlaPolicyPayload, "sla_policy", await sl.update_sla_policy(info, input), SlaPolicy.from_model)

    # me
    @strawberry.mutation
    async def update_preferences(self, info: Info, input: inputs.UpdatePreferencesInput) -> PreferencesPayload:
        return payload(PreferencesPayload, "preferences", await m.update_preferences(info, input),
                       OperatorPreferences.from_model)

    @strawberry.mutation
    async def set_status(self, info: Info, input: inputs.SetStatusInput) -> OperatorPayload:
        return _operator_payload(await m.set_status(info, input))

    # administration (ADMIN)
    @strawberry.mutation
    async def create_operator(self, info: Info, input: inputs.CreateOperatorInput) -> OperatorPayload:
        return _operator_payload(await m.create_operator(info, input))

    @strawberry.mutation
    async def create_open_channel(self, info: Info, input: inputs.CreateOpenChannelInput) -> OpenChannelPayload:
        return _open_channel_payload(await m.create_open_channel(info, input))

    @strawberry.mutation
    async def update_open_channel(self, info: Info, input: inputs.UpdateOpenChannelInput) -> OpenChannelPayload:
        return _open_channel_payload(await m.update_open_channel(info, input))

    # the visitor side
    @strawberry.mutation(description="Public: a client starts a chat and receives a visitor token.")
    async def start_visitor_chat(self, info: Info, input: inputs.StartVisitorChatInput) -> StartVisitorChatPayload:
        done = await m.start_visitor_chat(info, input)
        if done.error is not None:
            return StartVisitorChatPayload(chat=None, visitor_token=None, user_errors=user_errors(done))
        chat, token = done.value
        return StartVisitorChatPayload(chat=Chat.from_model(chat) if chat else None, visitor_token=token,
                                       user_errors=[])

    @strawberry.mutation
    async def send_visitor_message(self, info: Info, input: inputs.SendVisitorMessageInput) -> MessagePayload:
        return message_payload(await m.send_visitor_message(info, input))

    @strawberry.mutation(description="The visitor ends their own chat (visitor token): a queued chat leaves the "
                                     "queue, an answered one closes; no rating request. INVALID_STATE without an "
                                     "open chat.")
    async def finish_visitor_chat(self, info: Info) -> ChatPayload:
        return chat_payload(await m.finish_visitor_chat(info))

    @strawberry.mutation(description="Admins: a new identity secret for visitor identity hashes, shown once "
                                     "(hashes made with the previous one stop verifying).")
    async def rotate_identity_secret(self, info: Info, input: inputs.OpenChannelInput) -> IdentitySecretPayload:
        return payload(IdentitySecretPayload, "secret", await m.rotate_identity_secret(info, input), str)

    # typing: live only, never stored (the `typing` subscription)
    @strawberry.mutation(
        description="I am typing in this answered chat (or stopped: `typing: false`); `silent`: a silent note, "
                    "shown to operators only. Not stored. True when the signal went out; false when it was "
                    "dropped: at most 3 per second per sender and chat (a burst of 3). An unknown chat is a "
                    "top-level NOT_FOUND error, a chat I may not write in FORBIDDEN, one not answered INVALID_STATE.")
    async def set_typing(self, info: Info, input: SetTypingInput) -> bool:
        return await t.set_typing(info, input)

    @strawberry.mutation(
        description="Visitor token: I am typing in my open chat (or stopped). Not stored. True when the signal "
                    "went out; false when it was dropped: at most 3 per second (a burst of 3). Without an open "
                    "chat: a top-level INVALID_STATE error.")
    async def set_visitor_typing(self, info: Info, input: SetVisitorTypingInput) -> bool:
        return await t.set_visitor_typing(info, input)


@strawberry.type
class CoreSubscription:
    @strawberry.subscription(
        description="Queue changes of the given open channels (all the viewer may see when omitted).")
    async def queue_changed(self, info: Info, open_channel_ids: list[strawberry.ID] | None = None,
                            after: str | None = None) -> AsyncGenerator[QueueEvent, None]:
        async with aclosing(s.queue_changed(info, open_channel_ids, after)) as events:
            async for event in events:
                yield QueueEvent.from_found(event)

    @strawberry.subscription(description="Everything that happens in one chat.")
    async def chat_events(self, info: Info, chat_id: strawberry.ID,
                          after: str | None = None) -> AsyncGenerator[ChatEvent, None]:
        async with aclosing(s.chat_events(info, chat_id, after)) as events:
            async for event in events:
                yield ChatEvent.from_found(event)

    @strawberry.subscription(description="New messages in every chat the viewer takes part in (or in one chat).")
    async def message_added(self, info: Info, chat_id: strawberry.ID | None = None,
                            after: str | None = None) -> AsyncGenerator[Message, None]:
        async with aclosing(s.message_added(info, chat_id, after)) as events:
            async for event in events:
                yield Message.from_model(event)

    @strawberry.subscription(
        description="Changes to the viewer's own chat list: offers, answers, unread counters; "
                    "CHAT_REMOVED when a chat leaves it.")
    async def my_chats_changed(self, info: Info, after: str | None = None) -> AsyncGenerator[ChatEvent, None]:
        async with aclosing(s.my_chats_changed(info, after)) as events:
            async for event in events:
                yield ChatEvent.from_found(event)

    @strawberry.subscription(
        description="Typing in one chat (operators who may read it, or the visitor token for its own chat: "
                    "`chatId` may then be omitted). Live only: nothing is stored or replayed. A visitor never "
                    "receives the typing of a silent note, nor their own; an operator not their own.")
    async def typing(self, info: Info, chat_id: strawberry.ID | None = None) -> AsyncGenerator[TypingEvent, None]:
        async with aclosing(t.typing(info, chat_id)) as signals:
            async for found in signals:
                yield TypingEvent.from_found(found)

    @strawberry.subscription(description="The visitor's own chat, silent messages excluded (visitor token only).")
    async def visitor_chat_events(self, info: Info, after: str | None = None) -> AsyncGenerator[ChatEvent, None]:
        async with aclosing(s.visitor_chat_events(info, after)) as events:
            async for event in events:
                yield ChatEvent.from_found(event)

    @strawberry.subscription(
        description="Visitor token: where my chat stands in its queue, live. First the current standing, then each "
                    "change of `queuePosition` or `estimatedWaitSeconds` (at most every "
                    "QUEUE_POSITION_THROTTLE_SECONDS); both null while the chat is not waiting (answered); it "
                    "completes after a last null standing when the chat is closed. Not stored, not replayed.")
    async def visitor_queue(self, info: Info) -> AsyncGenerator[VisitorQueueStatus, None]:
        async with aclosing(qs.visitor_queue(info)) as standings:
            async for standing in standings:
                yield VisitorQueueStatus.from_standing(standing)
