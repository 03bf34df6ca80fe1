"""The floor any Python stack pays: Starlette + asyncpg, hand-written SQL, the same JSON.

Each endpoint does what the GraphQL server must do for the same request, no more: look up
the bearer token (one statement, which also reads the operator's grouping preference) and
read the list with one statement (joins for client and operator, a lateral subquery for
the last message, a correlated count for the unread messages, over the page only). The response is the JSON
the GraphQL query returns, built from plain dicts and written by Starlette's JSONResponse,
with a pool as large as the project's (DATABASE_POOL_SIZE's default).

    DATABASE_URL=postgres://... uvicorn --factory bench.baseline:create_app
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infrastructure.settings import DEFAULT_POOL_SIZE
from resolvers.ids import to_global_id

POOL_SIZE = DEFAULT_POOL_SIZE

AUTHENTICATE = """
SELECT t.operator_id, t.expires_at, o.group_waiting_first_response
FROM api_token t JOIN operator o ON o.id = t.operator_id
WHERE t.token_hash = $1
"""

#: a chat as the B1 queries return it, from `{chats}` (the page, already cut); $1 is the viewer's operator id
_CHAT_SELECT = """
SELECT c.id, c.title, c.operator_id, c.first_response_at, cl.name AS client_name, o.name AS operator_name,
       lm.text AS last_text,
       (SELECT COUNT(*) FROM message m
        WHERE m.chat_id = c.id AND m.id > COALESCE(r.last_read_message_id, 0)
          AND (m.author_id IS NULL OR m.author_id <> $1)) AS unread
FROM {chats} c
LEFT JOIN client cl ON cl.id = c.client_id
LEFT JOIN operator o ON o.id = c.operator_id
LEFT JOIN LATERAL (SELECT text FROM message m WHERE m.chat_id = c.id ORDER BY m.id DESC LIMIT 1) lm ON true
LEFT JOIN read_marker r ON r.chat_id = c.id AND r.operator_id = $1
"""

MY_ACTIVE_CHATS = _CHAT_SELECT.format(chats="""(
  SELECT * FROM chat WHERE status = 'ACTIVE' AND kind = 'CUSTOMER'
    AND id IN (SELECT chat_id FROM chat_participant WHERE operator_id = $1))""") + """
ORDER BY c.last_activity_at DESC, c.id DESC
"""

#: every chat an operator may see (services/policies/chats.py), newest first: the page is cut before the joins
CONVERSATIONS = _CHAT_SELECT.format(chats="""(
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
    viewer = await _viewer(pool, request)
    if viewer is None:
        return _unauthenticated()
    me = viewer["operator_id"]
    rows = await pool.fetch(MY_ACTIVE_CHATS, me)
    waiting, active = [], []
    for row in rows:
        is_waiting = viewer["group_waiting_first_response"] and row["operator_id"] == me \
            and row["first_response_at"] is None
        (waiting if is_waiting else active).append(_chat(row))
    return JSONResponse({"data": {"myChats": {"waitingFirstResponse": waiting, "active": active}}})


async def conversations(request: Request) -> JSONResponse:
    pool = request.app.state.pool
    viewer = await _viewer(pool, request)
    if viewer is None:
        return _unauthenticated()
    first = int(request.query_params.get("first", "50"))
    rows = await pool.fetch(CONVERSATIONS, viewer["operator_id"], first)
    return JSONResponse({"data": {"conversations": {"edges": [{"node": _chat(row)} for row in rows]}}})


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    database_url = os.environ["DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.pool = await asyncpg.create_pool(database_url, min_size=1, max_size=POOL_SIZE)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(routes=[
        Route("/my-chats", my_chats, methods=["GET", "POST"]),
        Route("/conversations", conversations, methods=["GET", "POST"]),
        Route("/healthz", healthz),
    ], lifespan=lifespan)
