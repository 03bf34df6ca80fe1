"""What a client's WebSocket messages must look like, and how each protocol answers a message it
cannot use or a failure nobody expected: always with something the client can read, never silence.

- **A malformed message** (not a JSON object, no `type`, a `subscribe` / `start` without an
  `id` or a string `query`, `variables` that are not an object, ...) is checked before
  Strawberry reads it (Strawberry indexes into it and failed with a KeyError or TypeError that
  dropped the connection without a close frame, or ran nothing and said nothing).
  - graphql-transport-ws: the socket is closed with 4400 and the reason, as its protocol says.
  - graphql-ws (legacy): an `error` message (`connection_error` when the message is not an
    object, or not JSON at all) whose payload carries `extensions.code = "BAD_REQUEST"`; the
    connection stays open, as subscriptions-transport-ws servers did.
- **An unexpected exception** while an operation runs or a message is handled (including a
  result that cannot be encoded) is answered with the masked error of schema/error_policy.py
  (`INTERNAL_SERVER_ERROR` and a request id; the traceback in the log): an `error` message for
  that operation, or, with no operation to answer on, `connection_error` (graphql-ws) or a close
  with 4500 and the masked message as reason (graphql-transport-ws). A message that cannot be
  encoded goes out with the masked error in place of its payload (`masked_message`): the
  protocols mark an operation done before its last message is sent, so that message is the
  only chance to answer.
"""
from __future__ import annotations

from typing import Any

from graphql import GraphQLFormattedError

from openchannels.trusted_documents import names_a_document
from schema.error_policy import BAD_REQUEST, internal_error

#: graphql-transport-ws: a message of a type or format the protocol does not specify
CLOSE_BAD_REQUEST = 4400
#: graphql-transport-ws (graphql-ws library's CloseCode.InternalServerError)
CLOSE_INTERNAL_ERROR = 4500
#: a close reason must fit in a control frame (123 bytes of UTF-8)
MAX_CLOSE_REASON = 120

#: the messages of each protocol that start or stop an operation, by the name of their type
TRANSPORT_WS_OPERATIONS = {"subscribe": True, "complete": False}
LEGACY_WS_TYPES = {"connection_init", "connection_terminate", "start", "stop"}
LEGACY_WS_OPERATIONS = {"start": True, "stop": False}


class NotJson:
    """What the adapter hands the legacy handler for a text message that is not JSON."""


NOT_JSON = NotJson()


def malformed(message: Any, operations: dict[str, bool], known_types: set[str] | None = None) -> str | None:
    """Why `message` cannot be used (None: it can). `operations`: the types that name an operation
    (True: it starts one and carries a payload); `known_types`: every type, when the handler does
    not refuse unknown ones itself."""
    if message is NOT_JSON:
        return "A message must be valid JSON."
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "A message must be a JSON object with a string `type`."
    kind = message["type"]
    if known_types is not None and kind not in known_types:
        return f"Unknown message type: {kind[:40]}"
    if kind not in operations:
        return None
    if not isinstance(message.get("id"), str) or not message["id"]:
        return f"A `{kind}` message needs a string `id`."
    if not operations[kind]:
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return f"A `{kind}` message needs a `payload` object."
    if not isinstance(payload.get("query"), str) and not names_a_document(payload):
        return "`payload.query` must be a string (the GraphQL document), or name a registered one (`documentId`)."
    for name, kinds in (("variables", dict), ("operationName", str), ("extensions", dict)):
        if payload.get(name) is not None and not isinstance(payload[name], kinds):
            return f"`payload.{name}` must be {'an object' if kinds is dict else 'a string'} or null."
    return None


def bad_request(reason: str) -> GraphQLFormattedError:
    """The payload of a legacy `error` / `connection_error` for a malformed message."""
    return {"message": reason, "extensions": {"code": BAD_REQUEST}}


def close_reason(text: str) -> str:
    encoded = text.encode()
    return text if len(encoded) <= MAX_CLOSE_REASON else encoded[:MAX_CLOSE_REASON].decode(errors="ignore")


def masked_message(message: Any, error: Exception) -> dict[str, Any]:
    """`message` (a dict that could not be encoded) with the masked error as its payload, in the
    payload's shape: a result for `next` / `data`, a list or an object for `error`."""
    kind = message.get("type")
    masked = internal_error(error, f"encoding a WebSocket {kind} message").formatted
    payload = message.get("payload")
    if kind in ("next", "data"):
        replaced: Any = {"data": None, "errors": [masked]}
    else:
        replaced = [masked] if isinstance(payload, list) else masked
    return {**message, "payload": replaced}
