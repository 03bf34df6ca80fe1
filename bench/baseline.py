"""The floor any Python stack pays: Starlette + asyncpg, hand-written SQL, the same JSON.

Each endpoint does what the GraphQL server must do for the same request, no more: trust the
bearer token as the server does (looked up once, then trusted for TOKEN_CACHE_SECONDS in the
process: no token round trip per request) and read the list with one statement (`myChats`'s
also reads the operator's grouping preference, as the server's does) (joins for client and operator, a lateral subquery for
the last message, a correlated count for the unread messages, over the page only). The response is the JSON
the GraphQL query returns, built from plain dicts and written by Starlette's JSONResponse,
with a pool as large as the project's (DATABASE_POOL_SIZE's default), whose released connections
go back without asyncpg's reset statement, as the project's do (`keep_session`).

`POST /send-message` (B3) takes `{"chatId", "text"}` and makes the server's writes for an operator's
message, in the server's round trips and with the statements it keeps prepared in each session:
BEGIN with the chat's row locked (the caller's roles are
decided after the lock, as the server decides them); the server's own statement
(services/messaging/messages.py `SEND_MESSAGE_STATEMENT`: the chat's activity and auto-close time,
a client's wait for a reply met, the message written only when the caller is one of the chat's
participants and the chat's state allows it, the writer's read marker moved to it, the roles and
the chat read back); the event-order lock, the event and COMMIT in one, the event's id reported with it
(a session parameter PostgreSQL reports, as the server takes it);
then the event published to Redis (REDIS_URL, on a channel no server reads). Anything else (no
such chat, not a participant, a state that refuses a message) is rolled back and answered
NOT_FOUND. A token found valid is trusted for TOKEN_CACHE_SECONDS in the process, as the server
trusts it: no token round trip per message. Only the Python around these statements differs
from the server's: what B3 compares.

    DATABASE_URL=postgres://... uvicorn --factory bench.baseline:create_app
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from datetime import datetime, timezone
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infrastructure.settings import DEFAULT_POOL_SIZE, keep_session
from resolvers.ids import parse_global_id, to_global_id
from services.common.transactions import lock_statement, prepare_sql
from services.events.events import EVENT_ORDER_LOCK, REPORTED_SETTING, reported_ids  # the lock: event order
from services.messaging.messages import SEND_MESSAGE_STATEMENT

POOL_SIZE = DEFAULT_POOL_SIZE

AUTHENTICATE = """
SELECT t.operator_id, t.expires_at
FROM api_token t JOIN operator o ON o.id = t.operator_id
WHERE t.token_hash = $1
"""

#: a chat as the B1 queries return it (`chat_select`); $1 is the viewer's operator id
_CHAT_SELECT = """
SELECT c.id, c.title, c.operator_id, c.first_response_at, cl.name AS client_name, o.name AS operator_name,
       lm.text AS last_text,
       (SELECT COUNT(*) FROM message m
        WHERE m.chat_id = c.id AND m.id > COALESCE(r.last_read_message_id, 0)
          AND (m.author_id IS NULL OR m.author_id <> $1)) AS unread{columns}
FROM {chats} c
LEFT JOIN client cl ON cl.id = c.client_id
LEFT JOIN operator o ON o.id = c.operator_id
LEFT JOIN LATERAL (SELECT text FROM message m WHERE m.chat_id = c.id ORDER BY m.id DESC LIMIT 1) lm ON true
LEFT JOIN read_marker r ON r.chat_id = c.id AND r.operator_id = $1
"""


def chat_select(chats: str, columns: str = "") -> str:
    """The B1 lists' statement over `chats` (a subquery of chat rows, the page already cut), with
    the `columns` a list adds after the chat's (each starting with a comma)."""
    return _CHAT_SELECT.format(chats=chats, columns=columns)


#: the operator's active chats, with their grouping preference (read in the same statement, as the
#: server reads it: the token itself is trusted from the cache, `_operator_id`)
MY_ACTIVE_CHATS = chat_select(columns=",\n       (SELECT g.group_waiting_first_response FROM operator g WHERE g.id = $1) AS grouped",
                              chats="""(
  SELECT * FROM chat WHERE status = 'ACTIVE' AND kind = 'CUSTOMER'
    AND id IN (SELECT chat_id FROM chat_participant WHERE operator_id = $1))""") + """
ORDER BY c.last_activity_at DESC, c.id DESC
"""

#: every chat an operator may see (services/policies/chats.py), newest first: the page is cut before the joins
CONVERSATIONS = chat_select(chats="""(
  SELECT * FROM chat
  WHERE open_channel_id IN (SELECT open_channel_id FROM queue_member WHERE operator_id = $1)
     OR operator_id = $1
     OR id IN (SELECT chat_id FROM chat_participant WHERE operator_id = $1)
     OR id IN (SELECT chat_id FROM chat_offer WHERE operator_id = $1)
  ORDER BY created_at DESC, id DESC
  LIMIT $2)""") + """
ORDER BY c.created_at DESC, c.id DESC
"""


def _chat(row: asyncpg.Record) -> dict:
    return {
        "id": to_global_id("Chat", row["id"]),
        "title": row["title"],
        "client": {"name": row["client_name"]} if row["client_name"] is not None else None,
        "operator": {"name": row["operator_name"]} if row["operator_name"] is not None else None,
        "lastMessage": {"text": row["last_text"]} if row["last_text"] is not None else None,
        "unreadCount": row["unread"],
    }


def _unauthenticated() -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": "Invalid or expired token.",
                                                   "extensions": {"code": "UNAUTHENTICATED"}}]})


async def _viewer(pool: asyncpg.Pool, request: Request) -> asyncpg.Record | None:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    row = await pool.fetchrow(AUTHENTICATE, hashlib.sha256(token.strip().encode()).hexdigest())
    if row is None or (row["expires_at"] is not None and row["expires_at"] <= datetime.now(timezone.utc)):
        return None
    return row


async def my_chats(request: Request) -> JSONResponse:
    pool = request.app.state.pool
    me = await _operator_id(pool, request)
    if me is None:
        return _unauthenticated()
    rows = await pool.fetch(MY_ACTIVE_CHATS, me)
    waiting, active = [], []
    for row in rows:
        is_waiting = row["grouped"] and row["operator_id"] == me and row["first_response_at"] is None
        (waiting if is_waiting else active).append(_chat(row))
    return JSONResponse({"data": {"myChats": {"waitingFirstResponse": waiting, "active": active}}})


async def conversations(request: Request) -> JSONResponse:
    pool = request.app.state.pool
    me = await _operator_id(pool, request)
    if me is None:
        return _unauthenticated()
    first = int(request.query_params.get("first", "50"))
    rows = await pool.fetch(CONVERSATIONS, me, first)
    return JSONResponse({"data": {"conversations": {"edges": [{"node": _chat(row)} for row in rows]}}})


_NO_CHAT = {"data": {"sendMessage": {"message": None, "userErrors": [
    {"code": "NOT_FOUND", "message": "No such chat.", "field": ["input", "chatId"]}]}}}


#: the server's own lock of a chat's row, as it keeps it prepared in each session
#: (services/common/transactions.py `lock_statement`)
_LOCK_CHAT = lock_statement("chat")
#: the server's last statement of a message (services/events/events.py `_WRITE_EVENT`) for the columns
#: a message's event sets, kept prepared as the server keeps its own
_WRITE_EVENT = (
    "PREPARE bench_write_event(int, int, int, jsonb, timestamptz, text) AS "
    f"WITH event_order AS MATERIALIZED (SELECT pg_advisory_xact_lock({EVENT_ORDER_LOCK})), "
    "written AS (INSERT INTO event (kind, chat_kind, chat_id, open_channel_id, message_id, operator_ids, "
    "visitor_visible, created_at) SELECT 'MESSAGE_ADDED', 'MESSAGE_ADDED', $1, $2, $3, $4, true, $5 "
    "FROM event_order RETURNING id) SELECT set_config('bench.written_event_id', id::text, false), "
    f"set_config('{REPORTED_SETTING}', $6 || id::text || ';', false) FROM written")


async def prepare_session(connection: asyncpg.Connection) -> None:
    """asyncpg's pool `init`: in each new connection of a baseline's pool, the statements the
    server keeps prepared in its sessions (services/common/transactions.py `session_statement`)."""
    await connection.execute(prepare_sql(_LOCK_CHAT))
    await connection.execute(_WRITE_EVENT)


def begin_and_lock(chat_id: int) -> str:
    """The server's first round trip of a message: BEGIN and the chat's row locked (the prepared lock)."""
    return f"BEGIN; EXECUTE {_LOCK_CHAT}({int(chat_id)})"


#: this process's tags of its events' reports (services/events/events.py `_TAGS`)
_TAGS = itertools.count(1)


def event_and_commit(chat_id: int, channel_id: int | None, message_id: int, operator_id: int,
                     now: datetime) -> tuple[str, str]:
    """The server's last round trip of a message (services/events/events.py, UnitOfWork.flush_and_commit):
    the event-order lock, the MESSAGE_ADDED event (the prepared statement) and COMMIT, the event's id kept
    in the session and reported after a tag, as the server's is; and that tag (`reported_event_id`). Its
    values are integers and a time this process made: no quoting needed."""
    tag = f"bench {next(_TAGS)}:"
    return (f"EXECUTE bench_write_event({int(chat_id)}, {'NULL' if channel_id is None else int(channel_id)}, "
            f"{int(message_id)}, '[{int(operator_id)}]', '{now.isoformat()}', '{tag}'); COMMIT"), tag


async def reported_event_id(connection: Any, tag: str) -> int:
    """The event's id, as the server takes it: from PostgreSQL's report of the session parameter after
    COMMIT's round trip (asyncpg's `get_settings()`), read back only when the report is not the tag's."""
    ids = reported_ids(getattr(connection.get_settings(), REPORTED_SETTING, None), tag, 1)
    return ids[0] if ids is not None else int(await connection.fetchval(READ_EVENT_ID))


READ_EVENT_ID = "SELECT current_setting('bench.written_event_id')"


def event_message(event_id: int, chat_id: int, channel_id: int | None, message_id: int, operator_id: int,
                  now: datetime) -> str:
    """The event as the server publishes it to Redis."""
    return json.dumps({
        "id": event_id, "kind": "MESSAGE_ADDED", "queue_kind": None, "chat_kind": "MESSAGE_ADDED",
        "chat_id": chat_id, "open_channel_id": channel_id, "message_id": message_id,
        "operator_ids": [operator_id], "visitor_visible": True, "created_at": now.isoformat()}, separators=(",", ":"))


#: token hash -> (operator id, trusted until: time.monotonic())
_TRUSTED: dict[str, tuple[int, float]] = {}


async def _operator_id(pool: asyncpg.Pool, request: Request) -> int | None:
    """The caller's operator id, from the token cache while the token is trusted."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    trusted = _TRUSTED.get(digest)
    if trusted is not None and trusted[1] > time.monotonic():
        return trusted[0]
    viewer = await _viewer(pool, request)
    if viewer is None:
        return None
    _TRUSTED[digest] = (viewer["operator_id"], time.monotonic() + float(os.environ.get("TOKEN_CACHE_SECONDS", "10")))
    return viewer["operator_id"]


async def send_message(request: Request) -> JSONResponse:
    app = request.app
    me = await _operator_id(app.state.pool, request)
    if me is None:
        return _unauthenticated()
    body = await request.json()
    found = parse_global_id(body.get("chatId")) if isinstance(body.get("chatId"), str) else None
    if found is None or found[0] != "Chat":
        return JSONResponse(_NO_CHAT)
    chat_id = found[1]
    now = datetime.now(timezone.utc)
    async with app.state.pool.acquire() as db:
        await db.execute(begin_and_lock(chat_id))
        try:
            rows = await db.fetch(SEND_MESSAGE_STATEMENT, chat_id, me, now, "OPERATOR", str(body.get("text") or ""),
                                  False)
            written = [row["operator_id"] for row in rows if row["role"] == "written"]
            chats = [row["chat"] for row in rows if row["role"] == "chat"]
            if not written or not chats:  # no such chat, not a participant, or its state refuses a message
                await db.execute("ROLLBACK")
                return JSONResponse(_NO_CHAT)
            message_id, channel_id = written[0], chats[0]["open_channel_id"]
            script, tag = event_and_commit(chat_id, channel_id, message_id, me, now)
            await db.execute(script)
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        event_id = await reported_event_id(db, tag)
    await app.state.redis.publish(app.state.channel, event_message(event_id, chat_id, channel_id, message_id, me, now))
    return JSONResponse({"data": {"sendMessage": {"message": {"id": to_global_id("Message", message_id)},
                                                  "userErrors": []}}})


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    database_url = os.environ["DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: Starlette):
        import redis.asyncio as redis

        # released connections go back as the server's do (infrastructure/settings.py `keep_session`):
        # without asyncpg's reset statement, a round trip the server does not make
        app.state.pool = await asyncpg.create_pool(database_url, min_size=1, max_size=POOL_SIZE, reset=keep_session,
                                                   init=prepare_session)
        app.state.redis = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        app.state.channel = f"openchannels-bench-endpoint:{os.getpid()}"
        try:
            yield
        finally:
            await app.state.pool.close()
            await app.state.redis.aclose()

    return Starlette(routes=[
        Route("/my-chats", my_chats, methods=["GET", "POST"]),
        Route("/conversations", conversations, methods=["GET", "POST"]),
        Route("/send-message", send_message, methods=["POST"]),
        Route("/healthz", healthz),
    ], lifespan=lifespan)
