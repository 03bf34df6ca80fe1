"""The authorisation matrix: every root field of the schema × every kind of caller.

Run it as a command (a temporary SQLite database, the in-process broker)::

    .venv/bin/python -m tests.authorization.matrix

It prints one row per field, one column per caller (tests/authorization/world.py says who each
caller is and the state of chat X, the chat the rows are about), and exits 1 on any mismatch.
tests/authorization/test_matrix.py runs the same matrix on both test backends and fails when a
root field of the schema has no row here.

What a cell means (the expected outcome; the observed one must be the same):

- ``ok``: the call succeeds with a meaningful result: no error, and the object asked about is
  there (the chat returned, chat X in the list, the payload's object not null, an event about
  chat X on the stream...).
- ``hidden``: the call succeeds but the object is not disclosed: `chat(id)` / `node(id)` answer
  null, a list leaves chat X out, a stream carries nothing about it. This is how the API hides
  objects the caller may not see from queries and subscriptions ("null if you may not see it").
- ``UNAUTHENTICATED``: no token; a top-level error with ``extensions.code`` (mutations too).
- ``FORBIDDEN``: the caller may see the object but not do this, or the operation is not for
  this kind of caller (a visitor token on an operator's operation, an operator on an admin's):
  ``extensions.code`` for queries and subscriptions, the ``userErrors`` code for mutations.
- ``NOT_FOUND``: the object exists but the caller may not see it: the service does not disclose
  its existence (README "Errors"), so a mutation on a chat or message of another channel answers
  NOT_FOUND, never FORBIDDEN. Likewise chatEvents/messageAdded on such a chat.
- ``INVALID_STATE``: only `rateChat` by the other visitor: it has no chat argument (a visitor
  rates their own latest finished chat), so the other visitor cannot even address chat X; they
  are told they have nothing to rate.

Every outcome but ``ok`` is a refusal, and after every refusal the database must hold exactly
the rows it held before (tests/authorization/tables.py compares every table). Each case starts
from the world as built: the world is built once per variant and, whenever a call changed the
database, every table is given back the rows of the world as built (`tables.restore`).
"""
from __future__ import annotations

import asyncio
import io
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from graphql import ExecutionResult
from starlette.datastructures import UploadFile

from infrastructure.platform import Platform
from resolvers.context import Context
from schema import schema
from tests.authorization import tables
from tests.authorization.world import CALLER_MEANING, CALLERS, LOGIN_EMAIL, LOGIN_PASSWORD, VARIANTS, World, build_world

OK, HIDDEN = "ok", "hidden"
UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_STATE = "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "INVALID_STATE"
TOKENS = {"ok": OK, "hid": HIDDEN, "UNA": UNAUTHENTICATED, "FOR": FORBIDDEN, "NF": NOT_FOUND, "IST": INVALID_STATE}
_SHORT = {OK: "ok", HIDDEN: "hidden", UNAUTHENTICATED: "UNAUTH", FORBIDDEN: "FORBID", NOT_FOUND: "NOTFOUND",
          INVALID_STATE: "INV_STATE"}

#: how long a subscription that should show chat X may take to do so (its backlog is read at once)
SUBSCRIPTION_TIMEOUT = 10.0
#: how long a subscription that should not show chat X is watched after its last event
SUBSCRIPTION_QUIET = 1.0

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

Variables = Callable[[World, str], dict[str, Any]]
Sees = Callable[[Any, World, str], bool]


@dataclass(frozen=True)
class Row:
    """One root field: the operation that exercises it and the expected outcome per caller."""

    field: str  # "Query.chat", "Mutation.finishChat", "Subscription.chatEvents"
    document: str
    expected: dict[str, str]
    variables: Variables
    sees: Sees
    variant: str = "answered"

    @property
    def operation(self) -> str:
        return self.field.split(".")[0]

    @property
    def name(self) -> str:
        return self.field.split(".")[1]


def _no_variables(world: World, caller: str) -> dict[str, Any]:
    return {}


def row(field: str, document: str, expected: str, *, variables: Variables = _no_variables,
        sees: Sees | None = None, variant: str = "answered") -> Row:
    """`expected`: eight tokens in CALLERS order (ok hid UNA FOR NF IST)."""
    tokens = expected.split()
    assert len(tokens) == len(CALLERS), (field, tokens)
    assert variant in VARIANTS, variant
    return Row(field, document, dict(zip(CALLERS, (TOKENS[t] for t in tokens))), variables,
               sees or _payload_object, variant)


# ------------------------------------------------------------------------- result checks


def _payload_object(data: Any, world: World, caller: str) -> bool:
    """A mutation's payload: its object (the first field that is not userErrors) is there."""
    return any(v is not None for k, v in data.items() if k != "userErrors")


def _is_chat_x(data: Any, world: World, caller: str) -> bool:
    return data is not None and data.get("id") == world.chat


def _payload_chat_x(key: str = "chat") -> Sees:
    return lambda data, world, caller: (data.get(key) or {}).get("id") == world.chat


def _lists_id(gid: Callable[[World], str], path: Callable[[Any], list] = lambda data: data) -> Sees:
    return lambda data, world, caller: any(item["id"] == gid(world) for item in path(data))


def _edges_hold(gid: Callable[[World], str]) -> Sees:
    return lambda data, world, caller: any(edge["node"]["id"] == gid(world) for edge in data["edges"])


def _my_chats_hold_x(data: Any, world: World, caller: str) -> bool:
    return any(chat["id"] == world.chat for group in data.values() for chat in group)


def _message_in_chat_x(data: Any, world: World, caller: str) -> bool:
    return any(edge["node"]["chat"]["id"] == world.chat for edge in data["edges"])


def _own_payload_operator(data: Any, world: World, caller: str) -> bool:
    return (data.get("operator") or {}).get("id") == world.operator(caller)


def _message_in_own_chat(data: Any, world: World, caller: str) -> bool:
    message = data.get("message") or {}
    return message.get("chat", {}).get("id") == world.gid("Chat", world.own_chat_ids[caller])


def _chat_in_own_chats(data: Any, world: World, caller: str) -> bool:
    return (data.get("chat") or {}).get("id") == world.gid("Chat", world.own_chat_ids[caller])


def _events_about_x(events: list[Any], world: World, caller: str) -> bool:
    return any((event.get("chat") or {}).get("id") == world.chat for event in events)


def _x_waits_in_line(events: list[Any], world: World, caller: str) -> bool:
    return any(event["chatId"] == world.chat and event["queuePosition"] is not None for event in events)


def _non_empty(data: Any, world: World, caller: str) -> bool:
    return bool(data)


def _chat_input(world: World, caller: str) -> dict[str, Any]:
    return {"input": {"chatId": world.chat}}


def _message_input(world: World, caller: str) -> dict[str, Any]:
    return {"input": {"messageId": world.gid("Message", world.visitor_message_id)}}


def _mutation(name: str, input_type: str, selection: str) -> str:
    return (f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} "
            f"userErrors {{ code message }} }} }}")


CHAT = "chat { id status }"
MESSAGE = "message { id text silent chat { id } }"

# ------------------------------------------------------------------------- the rows
# columns: anonymous visitor other_visitor channel_operator other_operator participant supervisor admin

QUERY_ROWS = [
    row("Query.node", "query($id: ID!) { node(id: $id) { id ... on Chat { title } } }",
        "UNA ok  hid ok  hid ok  ok  ok", variables=lambda w, c: {"id": w.chat},
        sees=_is_chat_x),
    row("Query.me", "{ me { operator { id } } }",
        "UNA FOR FOR ok  ok  ok  ok  ok", sees=lambda d, w, c: d["operator"]["id"] == w.operator(c)),
    row("Query.operators", "{ operators { id } }",
        "UNA FOR FOR ok  ok  ok  ok  ok", sees=_lists_id(lambda w: w.operator("channel_operator"))),
    row("Query.openChannels", "{ openChannels { id } }",
        "UNA FOR FOR ok  hid hid ok  ok", sees=_lists_id(lambda w: w.gid("OpenChannel", w.channel_id))),
    row("Query.chat", "query($id: ID!) { chat(id: $id) { id title } }",
        "UNA ok  hid ok  hid ok  ok  ok", variables=lambda w, c: {"id": w.chat}, sees=_is_chat_x),
    row("Query.myChats", "{ myChats { offered { id } waitingFirstResponse { id } active { id } internal { id } } }",
        "UNA FOR FOR ok  hid ok  hid hid", sees=_my_chats_hold_x),
    row("Query.visitorChat", "{ visitorChat { id } }",
        "UNA ok  hid FOR FOR FOR FOR FOR", sees=_is_chat_x),
    row("Query.conversations", "{ conversations(first: 50) { edges { node { id } } } }",
        "UNA FOR FOR ok  hid ok  ok  ok", sees=_edges_hold(lambda w: w.chat)),
    row("Query.searchMessages",
        '{ searchMessages(query: "help", first: 50) { edges { node { id chat { id } } } } }',
        "UNA ok  hid ok  hid ok  ok  ok", sees=_message_in_chat_x),
    # the caller's colleagues in their queues (themselves included; the channel operator is C1's, the
    # others C2's); supervisors and admins: everyone
    row("Query.presence", "{ presence { id connected } }",
        "UNA FOR FOR ok  hid hid ok  ok ", sees=_lists_id(lambda w: w.operator("channel_operator"))),
    row("Query.client", "query($id: ID!) { client(id: $id) { id } }",
        "UNA FOR FOR ok  hid ok  ok  ok", variables=lambda w, c: {"id": w.gid("Client", w.client_id)},
        sees=lambda d, w, c: d is not None and d["id"] == w.gid("Client", w.client_id)),
    # X is the only conversation of C1; an operator's figures count the chats they are responsible for
    row("Query.statistics", "query($f: StatisticsFilter!) { statistics(filter: $f) { totals { conversations } } }",
        "UNA FOR FOR ok  hid hid ok  ok",
        variables=lambda w, c: {"f": {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z",
                                      "openChannelIds": [w.gid("OpenChannel", w.channel_id)]}},
        sees=lambda d, w, c: d["totals"]["conversations"] == 1),
    row("Query.products", "{ products { id } }",
        "UNA FOR FOR ok  ok  ok  ok  ok", sees=_lists_id(lambda w: w.gid("Product", w.product_id))),
    row("Query.connectors", "{ connectors { id } }",
        "UNA FOR FOR FOR FOR FOR FOR ok", sees=_lists_id(lambda w: w.gid("Connector", w.connector_id))),
    row("Query.webhooks", "{ webhooks { id } }",
        "UNA FOR FOR FOR FOR FOR FOR ok", sees=_lists_id(lambda w: w.gid("Webhook", w.webhook_id))),
    row("Query.webhookDeliveries",
        "query($w: ID!) { webhookDeliveries(webhookId: $w) { edges { cursor } pageInfo { hasNextPage } } }",
        "UNA FOR FOR FOR FOR FOR FOR ok", variables=lambda w, c: {"w": w.gid("Webhook", w.webhook_id)},
        sees=lambda d, w, c: d is not None and d["edges"] == []),
    row("Query.cannedResponses", "{ cannedResponses { id } }",
        "UNA FOR FOR ok  hid hid ok  ok", sees=_lists_id(lambda w: w.gid("CannedResponse", w.canned_response_id))),
    row("Query.messageCommands", "{ messageCommands { command } }",
        "ok  ok  ok  ok  ok  ok  ok  ok", sees=_non_empty),
    row("Query.smileys", "{ smileys { code emoji } }",
        "ok  ok  ok  ok  ok  ok  ok  ok", sees=_non_empty),
    # public: the website widget reads its channel's name, language and form before any token
    # (services/policies/open_channels.py widget_readable); nothing of the queue or the chats
    row("Query.widgetSettings",
        "query($id: ID!) { widgetSettings(openChannelId: $id) { openChannelId name language contactFields } }",
        "ok  ok  ok  ok  ok  ok  ok  ok", variables=lambda w, c: {"id": w.gid("OpenChannel", w.channel_id)},
        sees=lambda d, w, c: d is not None and d["openChannelId"] == w.gid("OpenChannel", w.channel_id)),
    row("Query.searchGifs", '{ searchGifs(query: "cat") { id title } }',
        "UNA FOR FOR ok  ok  ok  ok  ok", sees=lambda d, w, c: any(g["title"] == "Happy cat" for g in d)),
    row("Query.myTasks", "{ myTasks { id } }",
        "UNA FOR FOR ok  hid hid hid hid", sees=_lists_id(lambda w: w.gid("Task", w.task_id))),
    row("Query.labels", "{ labels { id name } }",
        "UNA FOR FOR ok  ok  ok  ok  ok", sees=_lists_id(lambda w: w.gid("Label", w.label_id))),
    row("Query.slaPolicies", "{ slaPolicies { id name } }",
        "UNA FOR FOR ok  ok  ok  ok  ok", sees=_lists_id(lambda w: w.gid("SlaPolicy", w.sla_policy_id))),
    row("Query.feed", "{ feed { id } }",
        "UNA FOR FOR ok  ok  ok  ok  ok", sees=_lists_id(lambda w: w.gid("FeedPost", w.feed_post_id))),
]

MUTATION_ROWS = [
    # public: whoever calls, the right credentials sign in
    row("Mutation.login", _mutation("login", "LoginInput", "token operator { id }"),
        "ok  ok  ok  ok  ok  ok  ok  ok",
        variables=lambda w, c: {"input": {"email": LOGIN_EMAIL, "password": LOGIN_PASSWORD}}),
    row("Mutation.renameChat", _mutation("renameChat", "RenameChatInput", CHAT),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat, "title": "Renamed"}}, sees=_payload_chat_x()),
    row("Mutation.markChatSpam", _mutation("markChatSpam", "ChatInput", CHAT),
        "UNA FOR FOR ok  NF  FOR ok  ok", variables=_chat_input, sees=_payload_chat_x()),
    row("Mutation.answerChat", _mutation("answerChat", "ChatInput", CHAT),
        "UNA FOR FOR ok  NF  FOR ok  ok", variables=_chat_input, sees=_payload_chat_x(), variant="offered"),
    # skipping declines an offer made to you: only the operator it is offered to
    row("Mutation.skipChat", _mutation("skipChat", "ChatInput", CHAT),
        "UNA FOR FOR ok  NF  FOR FOR FOR", variables=_chat_input, sees=_payload_chat_x(), variant="offered"),
    row("Mutation.transferChat", _mutation("transferChat", "TransferChatInput", CHAT),
        "UNA FOR FOR ok  NF  FOR ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat, "openChannelId": w.gid("OpenChannel", w.other_channel_id)}},
        sees=_payload_chat_x()),
    row("Mutation.interceptChat", _mutation("interceptChat", "ChatInput", CHAT),
        "UNA FOR FOR ok  NF  ok  ok  ok", variables=_chat_input, sees=_payload_chat_x(), variant="colleague"),
    row("Mutation.addChatParticipants", _mutation("addChatParticipants", "AddChatParticipantsInput", CHAT),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat, "operatorIds": [w.operator("colleague")]}},
        sees=_payload_chat_x()),
    row("Mutation.finishChat", _mutation("finishChat", "ChatInput", CHAT),
        "UNA FOR FOR ok  NF  FOR ok  ok", variables=_chat_input, sees=_payload_chat_x()),
    row("Mutation.pinChat", _mutation("pinChat", "PinChatInput", CHAT),
        "UNA FOR FOR ok  NF  FOR ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat, "pinned": True}}, sees=_payload_chat_x()),
    row("Mutation.markChatRead", _mutation("markChatRead", "ChatInput", CHAT),
        "UNA FOR FOR ok  NF  ok  ok  ok", variables=_chat_input, sees=_payload_chat_x()),
    row("Mutation.sendMessage", _mutation("sendMessage", "SendMessageInput", MESSAGE),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat, "text": "Here is the answer."}},
        sees=lambda d, w, c: d["message"]["chat"]["id"] == w.chat),
    row("Mutation.updatePreferences",
        _mutation("updatePreferences", "UpdatePreferencesInput", "preferences { groupWaitingFirstResponse }"),
        "UNA FOR FOR ok  ok  ok  ok  ok", variables=lambda w, c: {"input": {"groupWaitingFirstResponse": False}}),
    row("Mutation.setStatus", _mutation("setStatus", "SetStatusInput", "operator { id status }"),
        "UNA FOR FOR ok  ok  ok  ok  ok", variables=lambda w, c: {"input": {"status": "AWAY"}},
        sees=_own_payload_operator),
    # the token of the request (here the callers' viewers are given, without a token: nothing to revoke)
    row("Mutation.logout", _mutation("logout", "LogoutInput", "revokedTokens"),
        "UNA FOR FOR ok  ok  ok  ok  ok", variables=lambda w, c: {"input": {}}),
    row("Mutation.revokeOperatorTokens",
        _mutation("revokeOperatorTokens", "RevokeOperatorTokensInput", "operator { id } revokedTokens"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"operatorId": w.operator("channel_operator")}}),
    row("Mutation.createOperator", _mutation("createOperator", "CreateOperatorInput", "operator { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"name": "New Hire", "email": "new.hire@matrix.test"}}),
    row("Mutation.createOpenChannel", _mutation("createOpenChannel", "CreateOpenChannelInput", "openChannel { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok", variables=lambda w, c: {"input": {"name": "Billing"}}),
    row("Mutation.updateOpenChannel", _mutation("updateOpenChannel", "UpdateOpenChannelInput", "openChannel { id name }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"openChannelId": w.gid("OpenChannel", w.channel_id), "name": "Help desk"}}),
    # public: the website widget, before there is any token
    row("Mutation.startVisitorChat", _mutation("startVisitorChat", "StartVisitorChatInput", "visitorToken chat { id }"),
        "ok  ok  ok  ok  ok  ok  ok  ok",
        variables=lambda w, c: {"input": {"openChannelId": w.gid("OpenChannel", w.channel_id), "text": "Hi there"}}),
    # a visitor writes into their own chat: the other visitor's message goes to chat Y, never X
    row("Mutation.sendVisitorMessage", _mutation("sendVisitorMessage", "SendVisitorMessageInput", MESSAGE),
        "UNA ok  ok  FOR FOR FOR FOR FOR", variables=lambda w, c: {"input": {"text": "Any news?"}},
        sees=_message_in_own_chat),
    # the visitor ends their own open chat (no input): the other visitor ends chat Y, never X
    row("Mutation.finishVisitorChat", "mutation { finishVisitorChat { chat { id status } userErrors { code message } } }",
        "UNA ok  ok  FOR FOR FOR FOR FOR", sees=_chat_in_own_chats),
    row("Mutation.rotateIdentitySecret", _mutation("rotateIdentitySecret", "OpenChannelInput", "secret"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"openChannelId": w.gid("OpenChannel", w.channel_id)}}),
    row("Mutation.startConversation", _mutation("startConversation", "StartConversationInput", CHAT),
        "UNA FOR FOR ok  NF  FOR ok  ok",
        variables=lambda w, c: {"input": {"clientId": w.gid("Client", w.client_id),
                                          "openChannelId": w.gid("OpenChannel", w.channel_id)}}),
    row("Mutation.saveChatToCrm", _mutation("saveChatToCrm", "ChatInput", "chat { id } created contact { id }"),
        "UNA FOR FOR ok  NF  ok  ok  ok", variables=_chat_input, sees=_payload_chat_x()),
    row("Mutation.createChatOrder", _mutation("createChatOrder", "CreateChatOrderInput", "order { id total }"),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat, "items": [
            {"productId": w.gid("Product", w.product_id), "quantity": 2}]}}),
    row("Mutation.createProduct", _mutation("createProduct", "CreateProductInput", "product { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"name": "Mug", "price": 9.5, "currency": "EUR"}}),
    row("Mutation.addGif", _mutation("addGif", "AddGifInput", "gif { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"title": "Dog", "url": "https://gifs.example.test/dog.gif"}}),
    row("Mutation.uploadFile", _mutation("uploadFile", "UploadFileInput", "attachment { id }"),
        "UNA ok  NF  ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat,
                                          "file": UploadFile(io.BytesIO(PNG), filename="photo.png")}}),
    # the author's own visible reply: only the author edits or deletes it
    row("Mutation.editMessage", _mutation("editMessage", "EditMessageInput", MESSAGE),
        "UNA FOR FOR ok  NF  FOR FOR FOR",
        variables=lambda w, c: {"input": {"messageId": w.gid("Message", w.operator_message_id), "text": "Edited"}}),
    row("Mutation.deleteMessage", _mutation("deleteMessage", "MessageInput", MESSAGE),
        "UNA FOR FOR ok  NF  FOR FOR FOR",
        variables=lambda w, c: {"input": {"messageId": w.gid("Message", w.operator_message_id)}}),
    row("Mutation.markMessageUnread", _mutation("markMessageUnread", "MessageInput", CHAT),
        "UNA FOR FOR ok  NF  ok  ok  ok", variables=_message_input, sees=_payload_chat_x()),
    # C1's canned response: seen by C1's queue and supervisors (the participant is in C2's queue)
    row("Mutation.sendCannedResponse", _mutation("sendCannedResponse", "SendCannedResponseInput", MESSAGE),
        "UNA FOR FOR ok  NF  NF  ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat,
                                          "cannedResponseId": w.gid("CannedResponse", w.canned_response_id)}}),
    row("Mutation.saveMessageAsCannedResponse",
        _mutation("saveMessageAsCannedResponse", "SaveMessageAsCannedResponseInput", "cannedResponse { id }"),
        "UNA FOR FOR ok  NF  ok  ok  ok", variables=_message_input),
    # a channel's canned response (with openChannelId): supervisors and admins manage them
    row("Mutation.createCannedResponse",
        _mutation("createCannedResponse", "CreateCannedResponseInput", "cannedResponse { id }"),
        "UNA FOR FOR FOR FOR FOR ok  ok",
        variables=lambda w, c: {"input": {"title": "Bye", "text": "Goodbye!",
                                          "openChannelId": w.gid("OpenChannel", w.channel_id)}}),
    row("Mutation.updateCannedResponse",
        _mutation("updateCannedResponse", "UpdateCannedResponseInput", "cannedResponse { id title }"),
        "UNA FOR FOR FOR NF  NF  ok  ok",
        variables=lambda w, c: {"input": {"cannedResponseId": w.gid("CannedResponse", w.canned_response_id),
                                          "title": "Hi"}}),
    row("Mutation.deleteCannedResponse",
        _mutation("deleteCannedResponse", "DeleteCannedResponseInput", "cannedResponse { id }"),
        "UNA FOR FOR FOR NF  NF  ok  ok",
        variables=lambda w, c: {"input": {"cannedResponseId": w.gid("CannedResponse", w.canned_response_id)}}),
    row("Mutation.updateTask", _mutation("updateTask", "UpdateTaskInput", "task { id status }"),
        "UNA FOR FOR ok  NF  NF  ok  ok",
        variables=lambda w, c: {"input": {"taskId": w.gid("Task", w.task_id), "status": "DONE"}}),
    row("Mutation.createLabel", _mutation("createLabel", "CreateLabelInput", "label { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok", variables=lambda w, c: {"input": {"name": "Billing", "color": "#00AA00"}}),
    row("Mutation.createSlaPolicy", _mutation("createSlaPolicy", "SlaPolicyInput", "slaPolicy { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"name": "Gold", "firstResponseSeconds": 60}}),
    row("Mutation.updateSlaPolicy", _mutation("updateSlaPolicy", "UpdateSlaPolicyInput", "slaPolicy { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"slaPolicyId": w.gid("SlaPolicy", w.sla_policy_id),
                                          "resolutionSeconds": 3600}}),
    row("Mutation.setChatLabels", _mutation("setChatLabels", "SetChatLabelsInput", CHAT),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat, "labelIds": [w.gid("Label", w.label_id)]}},
        sees=_payload_chat_x()),
    row("Mutation.setChatPriority", _mutation("setChatPriority", "SetChatPriorityInput", CHAT),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"chatId": w.chat, "priority": "HIGH"}}, sees=_payload_chat_x()),
    row("Mutation.setClientAttributes", _mutation("setClientAttributes", "SetClientAttributesInput", "client { id }"),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"clientId": w.gid("Client", w.client_id),
                                          "attributes": [{"key": "plan", "value": "gold"}]}}),
    # GDPR: admins only; anyone else FORBIDDEN whether or not the client exists
    row("Mutation.eraseClient", _mutation("eraseClient", "ClientInput", "client { id name }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"clientId": w.gid("Client", w.client_id)}}),
    row("Mutation.bulkChatAction", _mutation("bulkChatAction", "BulkChatActionInput",
                                             "results { chatId chat { id } userErrors { code message } }"),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"chatIds": [w.chat], "action": "SET_PRIORITY", "priority": "URGENT"}},
        sees=lambda data, w, c: [(r["chat"] or {}).get("id") for r in data["results"]] == [w.chat]),
    # typing where one may write (the responsible, a participant, supervisors); a visitor in their own chat
    row("Mutation.setTyping", "mutation($input: SetTypingInput!) { setTyping(input: $input) }",
        "UNA FOR FOR ok  NF  ok  ok  ok", variables=lambda w, c: {"input": {"chatId": w.chat, "typing": True}}),
    row("Mutation.setVisitorTyping", "mutation($input: SetVisitorTypingInput!) { setVisitorTyping(input: $input) }",
        "UNA ok  ok  FOR FOR FOR FOR FOR", variables=lambda w, c: {"input": {"typing": True}}),
    row("Mutation.createTaskFromMessage", _mutation("createTaskFromMessage", "CreateTaskFromMessageInput", "task { id }"),
        "UNA FOR FOR ok  NF  ok  ok  ok", variables=_message_input),
    row("Mutation.discussMessageInChat", _mutation("discussMessageInChat", "DiscussMessageInChatInput", CHAT),
        "UNA FOR FOR ok  NF  ok  ok  ok",
        variables=lambda w, c: {"input": {"messageId": w.gid("Message", w.visitor_message_id),
                                          "operatorIds": [w.operator("colleague")]}}),
    row("Mutation.createFeedPostFromMessage",
        _mutation("createFeedPostFromMessage", "CreateFeedPostFromMessageInput", "feedPost { id }"),
        "UNA FOR FOR ok  NF  ok  ok  ok", variables=_message_input),
    # a new conversation in the message's channel: that channel's operators and supervisors
    row("Mutation.startConversationFromMessage", _mutation("startConversationFromMessage", "MessageInput", CHAT),
        "UNA FOR FOR ok  NF  FOR ok  ok", variables=_message_input),
    row("Mutation.rateChat", _mutation("rateChat", "RateChatInput", CHAT),
        "UNA ok  IST FOR FOR FOR FOR FOR", variables=lambda w, c: {"input": {"vote": "LIKE"}},
        sees=_payload_chat_x(), variant="finished"),
    row("Mutation.createConnector", _mutation("createConnector", "CreateConnectorInput", "connector { id } secret"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"name": "Hook 2", "kind": "WEBHOOK",
                                          "openChannelId": w.gid("OpenChannel", w.channel_id),
                                          "callbackUrl": "https://hooks.example.test/two"}}),
    row("Mutation.createWebhook", _mutation("createWebhook", "CreateWebhookInput", "webhook { id } secret"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"url": "https://93.184.216.34/two", "eventKinds": ["CHAT_FINISHED"]}}),
    row("Mutation.deleteWebhook", _mutation("deleteWebhook", "WebhookInput", "webhook { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"webhookId": w.gid("Webhook", w.webhook_id)}}),
    row("Mutation.updateWebhook", _mutation("updateWebhook", "UpdateWebhookInput", "webhook { id active }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"webhookId": w.gid("Webhook", w.webhook_id), "active": True}}),
    row("Mutation.replayWebhook", _mutation("replayWebhook", "ReplayWebhookInput", "webhook { id }"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"webhookId": w.gid("Webhook", w.webhook_id), "after": "0"}}),
    row("Mutation.rotateConnectorSecret",
        _mutation("rotateConnectorSecret", "RotateConnectorSecretInput", "connector { id } secret"),
        "UNA FOR FOR FOR FOR FOR FOR ok",
        variables=lambda w, c: {"input": {"connectorId": w.gid("Connector", w.connector_id)}}),
]

# every subscription replays from the first event (after: "0"), so an allowed caller gets its backlog at once
SUBSCRIPTION_ROWS = [
    row("Subscription.queueChanged", 'subscription { queueChanged(after: "0") { eventId kind chat { id } } }',
        "UNA FOR FOR ok  hid hid ok  ok", sees=_events_about_x),
    row("Subscription.chatEvents",
        'subscription($c: ID!) { chatEvents(chatId: $c, after: "0") { eventId kind chat { id } } }',
        "UNA ok  NF  ok  NF  ok  ok  ok", variables=lambda w, c: {"c": w.chat}, sees=_events_about_x),
    row("Subscription.messageAdded",
        'subscription($c: ID) { messageAdded(chatId: $c, after: "0") { id text chat { id } } }',
        "UNA ok  NF  ok  NF  ok  ok  ok", variables=lambda w, c: {"c": w.chat}, sees=_events_about_x),
    # the caller's own chat list: supervisors and admins are not on chat X
    row("Subscription.myChatsChanged", 'subscription { myChatsChanged(after: "0") { eventId kind chat { id } } }',
        "UNA FOR FOR ok  hid ok  hid hid", sees=_events_about_x),
    # no one types in the world: a caller allowed to follow chat X's typing sees a quiet stream
    row("Subscription.typing", "subscription($c: ID) { typing(chatId: $c) { chatId typing } }",
        "UNA hid NF  hid NF  hid hid hid", variables=lambda w, c: {"c": w.chat}, sees=_events_about_x),
    # presence of the caller's colleagues in their queues (the channel operator's status was set in the world)
    row("Subscription.operatorsChanged",
        'subscription { operatorsChanged(after: "0") { eventId operator { id } connected } }',
        "UNA FOR FOR ok  hid hid ok  ok ",
        sees=lambda events, w, c: any(e["operator"]["id"] == w.operator("channel_operator") for e in events)),
    # C1's live figures (chat X is ACTIVE in it): its queue's members, supervisors and admins; a channel the
    # caller may not watch is not disclosed
    row("Subscription.wallboard",
        "subscription($c: [ID!]) { wallboard(openChannelIds: $c) { openChannel { id } active } }",
        "UNA FOR FOR ok  NF  NF  ok  ok", variables=lambda w, c: {"c": [w.gid("OpenChannel", w.channel_id)]},
        sees=lambda events, w, c: any(b["openChannel"]["id"] == w.gid("OpenChannel", w.channel_id) and b["active"] >= 1
                                      for boards in events for b in boards)),
    row("Subscription.visitorChatEvents",
        'subscription { visitorChatEvents(after: "0") { eventId kind chat { id } } }',
        "UNA ok  hid FOR FOR FOR FOR FOR", sees=_events_about_x),
    # a visitor's own chat only (the other visitor follows chat Y); operators read Chat.queuePosition instead
    row("Subscription.visitorQueue", "subscription { visitorQueue { chatId queuePosition estimatedWaitSeconds at } }",
        "UNA ok  hid FOR FOR FOR FOR FOR", sees=_x_waits_in_line, variant="offered"),
]

ROWS = QUERY_ROWS + MUTATION_ROWS + SUBSCRIPTION_ROWS


def schema_root_fields() -> set[str]:
    """Every root field of the schema, as "Query.name", "Mutation.name", "Subscription.name"."""
    graphql_schema = schema._schema
    found = set()
    for root in (graphql_schema.query_type, graphql_schema.mutation_type, graphql_schema.subscription_type):
        if root is not None:
            found |= {f"{root.name}.{name}" for name in root.fields}
    return found


# ------------------------------------------------------------------------- running it


@dataclass
class Outcome:
    field: str
    caller: str
    expected: str
    observed: str
    detail: str = ""
    #: what a refused call changed in the database (must be nothing)
    changed: list[str] = field(default_factory=list)

    @property
    def mismatch(self) -> bool:
        return self.observed != self.expected or bool(self.changed)


def _code_of(errors: list[Any]) -> tuple[str, str]:
    error = errors[0]
    code = (error.extensions or {}).get("code") or "ERROR"
    return code, error.message


async def _observe_operation(row: Row, world: World, caller: str, platform: Platform) -> tuple[str, str]:
    result = await schema.execute(row.document, variable_values=row.variables(world, caller),
                                  context_value=Context(viewer=world.viewers[caller], platform=platform))
    if result.errors:
        return _code_of(result.errors)
    data = result.data[row.name]
    if row.operation == "Mutation" and isinstance(data, bool):  # setTyping: true, the signal went out
        return (OK, "") if data else ("BAD_RESULT", "false")
    if row.operation == "Mutation":
        if data["userErrors"]:
            return data["userErrors"][0]["code"], data["userErrors"][0]["message"]
        # a bulk payload (bulkChatAction): chat X's own result says how it was refused
        refused = [r["userErrors"][0] for r in data.get("results") or [] if r.get("userErrors")]
        if refused:
            return refused[0]["code"], refused[0].get("message", "")
        return (OK, "") if row.sees(data, world, caller) else ("BAD_RESULT", json.dumps(data, default=str)[:300])
    return (OK if row.sees(data, world, caller) else HIDDEN), ""


async def _observe_subscription(row: Row, world: World, caller: str, expected: str,
                                platform: Platform) -> tuple[str, str]:
    stream = await schema.subscribe(row.document, variable_values=row.variables(world, caller),
                                    context_value=Context(viewer=world.viewers[caller], platform=platform))
    if isinstance(stream, ExecutionResult):
        return _code_of(stream.errors) if stream.errors else ("ERROR", "no stream")
    events: list[Any] = []
    try:
        while True:
            wait = SUBSCRIPTION_TIMEOUT if expected == OK else SUBSCRIPTION_QUIET
            try:
                result = await asyncio.wait_for(stream.__anext__(), wait)
            except (TimeoutError, StopAsyncIteration):
                return HIDDEN, f"{len(events)} events, none about chat X"
            if result.errors:
                return _code_of(result.errors)
            events.append(result.data[row.name])
            if row.sees(events, world, caller):
                return OK, ""
    finally:
        await stream.aclose()


async def observe(row: Row, world: World, caller: str, platform: Platform) -> tuple[str, str]:
    if row.operation == "Subscription":
        return await _observe_subscription(row, world, caller, row.expected[caller], platform)
    return await _observe_operation(row, world, caller, platform)


async def fresh_world(variant: str) -> World:
    await tables.empty_all_tables()
    return await build_world(variant)


async def run_matrix(platform: Platform, rows: list[Row] | None = None,
                     new_world: Callable[[str], Awaitable[World]] = fresh_world) -> list[Outcome]:
    """Every row × every caller, each on an unchanged world.

    A world is built once per variant (`new_world`) and its rows copied aside (`tables.snapshot`);
    after a call that changed the database, the tables it changed (and those referring to them)
    are given back exactly the rows of the world as built (`tables.restore`; the whole database is
    then checked against the dump of the world as built), which gives the next case the same world
    as a rebuild would, in a fraction of the time."""
    rows = sorted(rows or ROWS, key=lambda r: list(VARIANTS).index(r.variant))  # few builds
    outcomes: list[Outcome] = []
    world: World | None = None  # the world the next case runs on; None: it must be restored
    built: World | None = None  # the last world built; its rows are the snapshot
    built_dump: tables.Dump = {}
    before: tables.Dump = {}
    changed_tables: set[str] = set()  # since the world was built or last restored
    for r in rows:
        for caller in CALLERS:
            if world is None or world.variant != r.variant:
                if built is not None and built.variant == r.variant:
                    await tables.restore(changed_tables)
                    before = await tables.dump()
                    if before != built_dump:  # the restore itself is checked, every time
                        raise AssertionError(f"the world was not restored: {tables.differences(built_dump, before)}")
                    world = built
                else:
                    world = built = await new_world(r.variant)
                    await tables.snapshot()
                    before = built_dump = await tables.dump()
                changed_tables = set()
            try:
                observed, detail = await observe(r, world, caller, platform)
            except Exception as error:  # a crash is a mismatch, reported with the rest
                observed, detail = "CRASH", f"{type(error).__name__}: {error}"
            after = await tables.dump()
            changed = tables.differences(before, after)
            outcome = Outcome(r.field, caller, r.expected[caller], observed, detail,
                              changed if observed != OK else [])
            outcomes.append(outcome)
            if changed:
                world = None  # the next case gets the world as built
                changed_tables |= tables.changed_tables(before, after)
    await tables.drop_snapshot()
    return outcomes


# ------------------------------------------------------------------------- printing it


def _cell(outcome: Outcome) -> str:
    if not outcome.mismatch:
        return _SHORT.get(outcome.observed, outcome.observed)
    if outcome.changed:
        return f"!{_SHORT.get(outcome.observed, outcome.observed)}+DB"
    return f"!{_SHORT.get(outcome.expected, outcome.expected)}>{_SHORT.get(outcome.observed, outcome.observed)}"


def format_table(outcomes: list[Outcome], rows_are: str = "fields") -> str:
    by_field: dict[str, dict[str, Outcome]] = {}
    for o in outcomes:
        by_field.setdefault(o.field, {})[o.caller] = o
    order = {r.field: i for i, r in enumerate(ROWS)}
    fields = sorted(by_field, key=lambda f: order.get(f, len(order)))
    header = ["field", *CALLERS]
    body = [[f, *(_cell(by_field[f][c]) if c in by_field[f] else "-" for c in CALLERS)] for f in fields]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in [header, *body]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    mismatches = [o for o in outcomes if o.mismatch]
    lines.append("")
    lines.append(f"{len(fields)} {rows_are} x {len(CALLERS)} callers = {len(outcomes)} cases, "
                 f"{len(mismatches)} mismatches")
    for o in mismatches:
        lines.append(f"MISMATCH {o.field} as {o.caller}: expected {o.expected}, got {o.observed} {o.detail}"
                     + (f"; a refused call changed the database: {o.changed}" if o.changed else ""))
    return "\n".join(lines)


def legend() -> str:
    lines = ["Callers:"] + [f"  {c}: {CALLER_MEANING[c]}" for c in CALLERS]
    lines += ["State of chat X per row (default: answered):"] + [f"  {v}: {m}" for v, m in VARIANTS.items()]
    lines += ["Rows on another state: " + ", ".join(f"{r.field} ({r.variant})" for r in ROWS
                                                   if r.variant != "answered")]
    lines += ["Cells: ok = allowed and the object is there; hidden = allowed, chat X not disclosed (null or left "
              "out); UNAUTH / FORBID / NOTFOUND / INV_STATE = refused with that code and the database unchanged; "
              "!expected>observed = a mismatch."]
    return "\n".join(lines)


async def _main() -> int:
    from tortoise import Tortoise

    from infrastructure.settings import tortoise_config
    from tests.authorization import node_types

    with tempfile.TemporaryDirectory(prefix="openchannels-matrix-") as folder:
        await Tortoise.init(config=tortoise_config(f"sqlite://{Path(folder) / 'matrix.sqlite3'}"))
        await Tortoise.generate_schemas()
        platform = Platform.local(Path(folder) / "files", max_upload_bytes=1 << 20, url_secret=b"matrix",
                                  url_ttl_seconds=60)
        try:
            with platform.in_use():
                uncovered = sorted(schema_root_fields() - {r.field for r in ROWS})
                outcomes = await run_matrix(platform)
                await tables.empty_all_tables()
                nodes = await node_types.run_node_types(platform)
        finally:
            await Tortoise.close_connections()
    print(legend())
    print()
    print(format_table(outcomes))
    if uncovered:
        print(f"NOT COVERED (root fields without a row): {', '.join(uncovered)}")
    print()
    print("node(id:) by the type of the object (tests/authorization/node_types.py):")
    print(format_table(nodes, "objects"))
    return 1 if uncovered or any(o.mismatch for o in outcomes + nodes) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
