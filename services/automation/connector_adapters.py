"""Connector adapters: how one kind of outside messenger talks to us and back.

Every adapter does two things on the same interface:
- `read_inbound`: check that a request really comes from the messenger (a signature, a secret
  token; a stale timestamp is a replay) and read the one message it carries;
- `deliver`: send one operator reply (what is sent, where, signed how, and what counts as an
  acknowledgement); returning means the messenger acknowledged it, raising means it will be
  retried. The sending itself is the platform's connector transport
  (infrastructure/connector_transport.py).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Protocol

from infrastructure.connector_transport import ConnectorTransport
from models import Connector, Message
from services.common.numerals import MAX_UNIX_TIME, parse_numeral

#: a signed webhook request older (or newer) than this is refused as a replay
REPLAY_WINDOW_SECONDS = 300
SIGNATURE_HEADER = "x-openchannels-signature"
TIMESTAMP_HEADER = "x-openchannels-timestamp"
TELEGRAM_SECRET_HEADER = "x-telegram-bot-api-secret-token"


class Rejected(Exception):
    """The request is not authentic (bad signature or token, or a replay): nothing is taken in."""


class Malformed(Exception):
    """The request is authentic but carries no message we can read."""


@dataclass(frozen=True)
class InboundMessage:
    external_message_id: str
    external_user_id: str
    name: str
    text: str


class Adapter(Protocol):
    def read_inbound(self, connector: Connector, headers: Mapping[str, str], body: bytes,
                     now: datetime) -> InboundMessage: ...

    async def deliver(self, connector: Connector, external_id: str, message: Message,
                      transport: ConnectorTransport, now: datetime) -> None: ...


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + HMAC-SHA256 of "<timestamp>." + the raw body, keyed with the connector's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("The body is not JSON.")
    if not isinstance(data, dict):
        raise Malformed("The body is not a JSON object.")
    return data


def _text(value: Any, what: str) -> str:
    if not isinstance(value, (str, int)) or not str(value).strip():
        raise Malformed(f"Missing {what}.")
    return str(value).strip()


class WebhookAdapter:
    """A generic signed webhook.

    In: POST /connectors/{id}/events with headers X-OpenChannels-Timestamp (unix seconds) and
    X-OpenChannels-Signature (see `sign`), body {"messageId", "from": {"id", "name"}, "text"}.
    Out: POST to the callback URL, signed the same way, body {"messageId", "to", "text",
    "sentAt"}; any 2xx acknowledges it.
    """

    def read_inbound(self, connector: Connector, headers: Mapping[str, str], body: bytes,
                     now: datetime) -> InboundMessage:
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(sign(connector.secret, timestamp, body), signature):
            raise Rejected("Bad signature.")
        seconds = parse_numeral(timestamp, maximum=MAX_UNIX_TIME)
        if seconds is None or abs(now.timestamp() - seconds) > REPLAY_WINDOW_SECONDS:
            raise Rejected("Stale timestamp: a replayed request.")
        data = _json(body)
        sender = found if isinstance(found := data.get("from"), dict) else {}
        return InboundMessage(
            external_message_id=_text(data.get("messageId"), "messageId"),
            external_user_id=_text(sender.get("id"), "from.id"),
            name=str(sender.get("name") or "").strip()[:200],
            text=_text(data.get("text"), "text"),
        )

    async def deliver(self, connector: Connector, external_id: str, message: Message,
                      transport: ConnectorTransport, now: datetime) -> None:
        body = json.dumps({"messageId": str(message.id), "to": external_id, "text": message.text,
                           "sentAt": message.created_at.isoformat()}).encode()
        timestamp = str(int(now.timestamp()))
        await transport.post(connector.callback_url or "", content=body, headers={
            "content-type": "application/json", TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(connector.secret, timestamp, body), "idempotency-key": str(message.id),
        })


class TelegramAdapter:
    """The Telegram Bot API: updates arrive by webhook with the secret token header; replies
    go out with sendMessage (acknowledged by {"ok": true})."""

    def read_inbound(self, connector: Connector, headers: Mapping[str, str], body: bytes,
                     now: datetime) -> InboundMessage:
        if not hmac.compare_digest(headers.get(TELEGRAM_SECRET_HEADER, ""), connector.secret):
            raise Rejected("Bad secret token.")
        update = _json(body)
        message = update.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            raise Malformed("Not a message update.")
        sender = found if isinstance(found := message.get("from"), dict) else {}
        name = " ".join(str(sender.get(k) or "") for k in ("first_name", "last_name")).strip()
        chat_id = _text(message["chat"].get("id"), "message.chat.id")
        return InboundMessage(
            external_message_id=f"{chat_id}:{_text(message.get('message_id'), 'message.message_id')}",
            external_user_id=chat_id, name=name[:200], text=_text(message.get("text"), "message.text"),
        )

    async def deliver(self, connector: Connector, external_id: str, message: Message,
                      transport: ConnectorTransport, now: datetime) -> None:
        base = (connector.api_url or "https://api.telegram.org").rstrip("/")
        answer = await transport.post(f"{base}/bot{connector.bot_token}/sendMessage",
                                      json={"chat_id": external_id, "text": message.text})
        if not answer.json().get("ok"):
            raise RuntimeError(f"Telegram refused the message: {answer.text[:200]}")


ADAPTERS: dict[str, Adapter] = {"WEBHOOK": WebhookAdapter(), "TELEGRAM": TelegramAdapter()}
