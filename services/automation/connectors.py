"""Channel connectors: the registry (admin use cases) and taking in an outside message.

An inbound message is taken in exactly once per external message id, in one transaction:
the id is recorded with the message, so a duplicate or a retried request changes nothing.
"duplicate" is answered only when that id was stored before (a messenger drops a message
answered so); every other outcome of a race (a new outside user's first messages arriving at
once, each making its client) is waited out and the message stored (services/common/unique_rows.py).
Outbound delivery: services/automation/connector_outbox.py. Who may see and configure the registry:
services/policies/connectors.py (admins).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

from models import (
    Chat, ChatStatus, Client, Connector, ConnectorClient, ConnectorInbound, Message,
)
from services.chats import queue
from services.chats.chat_states import ACTIVE, Action, transition
from services.chats.chats import auto_close_deadline
from services.automation.connector_adapters import ADAPTERS, InboundMessage, Malformed, Rejected
from services.common.errors import InvalidInput, NotFound
from services.events.events import UnitOfWork, unit_of_work
from services.chats.visitors import open_customer_chat
from services.common.text_input import clean_text
from services.messaging.messages import add_client_message, clean_text
from services.identity.viewer import Viewer, require_admin
from services.policies import connectors as policy, open_channels as open_channel_policy
from services.common.text_input import NAME_LENGTH, TOKEN_LENGTH, URL_LENGTH, check_text, text_input
from services.common.unique_rows import create_or_find

KINDS = tuple(ADAPTERS)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _url(value: str | None, field: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
        raise InvalidInput("Give an http(s) URL.", field=["input", field])
    return value


@text_input({"bot_token": "telegramBotToken", "api_url": "telegramApiUrl"},
            name=NAME_LENGTH, callback_url=URL_LENGTH, bot_token=TOKEN_LENGTH, api_url=URL_LENGTH)
async def create_connector(viewer: Viewer, *, name: str, kind: str, open_channel_id: int,
                           callback_url: str | None = None, bot_token: str | None = None,
                           api_url: str | None = None) -> Connector:
    policy.ensure_may_configure(viewer)
    name, kind = (name or "").strip(), str(getattr(kind, "value", kind)).upper()
    if not name:
        raise InvalidInput("The name cannot be empty.", field=["input", "name"])
    if kind not in KINDS:
        raise InvalidInput(f"Unknown connector kind; use one of {', '.join(KINDS)}.", field=["input", "kind"])
    callback_url, api_url = _url(callback_url, "callbackUrl"), _url(api_url, "telegramApiUrl")
    if kind == "WEBHOOK" and callback_url is None:
        raise InvalidInput("A webhook connector needs a callbackUrl.", field=["input", "callbackUrl"])
    if kind == "TELEGRAM" and not (bot_token or "").strip():
        raise InvalidInput("A Telegram connector needs the bot token.", field=["input", "telegramBotToken"])
    if not await open_channel_policy.listed_channels(viewer).filter(id=open_channel_id).exists():
        raise NotFound("No such open channel.", field=["input", "openChannelId"])
    return await Connector.create(name=name, kind=kind, open_channel_id=open_channel_id, secret=new_secret(),
                                  callback_url=callback_url, bot_token=(bot_token or "").strip() or None,
                                  api_url=api_url)


async def list_connectors(viewer: Viewer) -> list[Connector]:
    return await policy.registry(viewer).order_by("id")


async def rotate_secret(viewer: Viewer, *, connector_id: int) -> Connector:
    """A new secret: requests signed with the old one are refused from now on."""
    if not await policy.registry(viewer).filter(id=connector_id).update(secret=new_secret()):
        raise NotFound("No such connector.", field=["input", "connectorId"])
    return await policy.registry(viewer).get(id=connector_id)


@dataclass(frozen=True)
class Intake:
    """What the HTTP endpoint answers: a status code and a small JSON body."""

    status: int
    body: dict


async def receive(connector_id: int, headers: Mapping[str, str], body: bytes) -> Intake:
    """One inbound request of a connector: authenticated by its adapter, then taken in once."""
    connector = await Connector.get_or_none(id=connector_id)
    if connector is None:
        return Intake(404, {"error": "no such connector"})
    adapter = ADAPTERS[connector.kind]
    try:
        inbound = adapter.read_inbound(connector, headers, body, queue.now())
        inbound = InboundMessage(inbound.external_message_id, inbound.external_user_id, inbound.name,
                                 clean_text(inbound.text, ["text"]))
        for value, field in ((inbound.external_message_id, "messageId"), (inbound.external_user_id, "from.id"),
                             (inbound.name, "from.name"), (inbound.text, "text")):
            check_text(value, [field], None if field == "text" else NAME_LENGTH)  # the columns hold 200
    except Rejected as error:
        return Intake(401, {"error": str(error)})
    except Malformed as error:
        return Intake(400, {"error": str(error)})
    except InvalidInput as error:
        return Intake(400, {"error": error.message})
    message = await take_in(connector, inbound)
    if message is None:
        return Intake(200, {"status": "duplicate"})
    return Intake(200, {"status": "accepted", "messageId": str(message.id), "chatId": str(message.chat_id)})


async def take_in(connector: Connector, inbound: InboundMessage) -> Message | None:
    """The outside user's message into their open chat, or a new queued chat; None for a duplicate."""
    async with unit_of_work() as uow:
        record, new = await ConnectorInbound.get_or_create(
            connector_id=connector.id, external_message_id=inbound.external_message_id,
            defaults={"received_at": queue.now()}, using_db=uow.tx)
        if not new:  # stored before (a concurrent request with this id waited for, then found)
            return None
        identity = await _identity(uow, connector, inbound)
        await Client.filter(id=identity.client_id).using_db(uow.tx).select_for_update().first()
        chat = await (Chat.filter(client_id=identity.client_id, status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE])
                      .using_db(uow.tx).select_for_update().order_by("-id").first())
        if chat is None:
            message = await open_customer_chat(uow, client_id=identity.client_id,
                                               channel_id=connector.open_channel_id, text=inbound.text)
        else:
            changes: dict[str, Any] = {"last_activity_at": queue.now()}
            if chat.status == ACTIVE:
                changes["auto_close_at"] = auto_close_deadline(chat, await queue.channel_of(uow, chat))
            await transition(uow, chat, Action.VISITOR_MESSAGE, **changes)
            message = await add_client_message(uow, chat, inbound.text)
        await ConnectorInbound.filter(id=record.id).using_db(uow.tx).update(message_id=message.id)
    return message


async def _identity(uow: UnitOfWork, connector: Connector, inbound: InboundMessage) -> ConnectorClient:
    """The outside user's client; a new user's first messages arriving at once make one client."""

    async def create(savepoint) -> ConnectorClient:
        client = await Client.create(using_db=savepoint, name=inbound.name or f"{connector.name} user")
        return await ConnectorClient.create(using_db=savepoint, connector_id=connector.id,
                                            external_id=inbound.external_user_id, client_id=client.id)

    def find():
        return ConnectorClient.get_or_none(connector_id=connector.id,
                                           external_id=inbound.external_user_id, using_db=uow.tx)

    identity, _ = await create_or_find(uow.tx, find=find, create=create)
    return identity
