"""Who and what B2-B5 act on in the seeded data, with a token for each operator involved.

- the supervisor (the seeded admin): subscribes (B2) and searches and reads statistics over
  all channels (B4, B5);
- the fan-out channel: the last open channel (at `--scale` >= 0.25 none of the bench
  operators of B1 is a member, so the visitor chats B2 starts are not offered to them);
- the fan-out chat and the ingest chats: ACTIVE customer chats of regular operators (not the
  B1 bench operators, whose lists must not change), one chat per operator.

Tokens are issued through the real service (services/identity/auth.py), on an initialised database.
"""
from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from resolvers.ids import to_global_id

#: the chats of the B1 bench operators are left alone
CHATS = """
SELECT DISTINCT ON (c.operator_id) c.id, c.operator_id
FROM chat c JOIN operator o ON o.id = c.operator_id
WHERE c.status = 'ACTIVE' AND c.kind = 'CUSTOMER' AND o.email NOT LIKE 'bench%@bench.openchannels'
  AND o.role = 'OPERATOR'
ORDER BY c.operator_id, c.id DESC
"""


@dataclass
class Targets:
    supervisor_token: str
    #: the same supervisor's operator id (a peer's token for the same viewer: bench/peers.py)
    supervisor_id: int
    channel_id: str
    fanout_chat_id: str
    fanout_operator_token: str
    #: (operator token, chat global id) per ingest writer
    ingest: list[tuple[str, str]]
    #: the same chats' database ids (the raw loop writes there too)
    ingest_chat_rows: list[tuple[int, int]]


async def find_targets(url: str, writers: int) -> Targets:
    """Call with the database initialised (openchannels.database.init_database)."""
    from services.identity.auth import issue_token

    db = await asyncpg.connect(url, timeout=10)
    try:
        admin = await db.fetchval("SELECT id FROM operator WHERE role = 'ADMIN' ORDER BY id LIMIT 1")
        channel = await db.fetchval("SELECT MAX(id) FROM open_channel")
        chats = [(r["id"], r["operator_id"]) for r in await db.fetch(CHATS)]
    finally:
        await db.close()
    if len(chats) < 2:
        raise RuntimeError("fewer than 2 regular operators with an ACTIVE chat: raise --scale")
    fanout_chat, fanout_operator = chats[0]
    ingest = chats[1:1 + writers]
    tokens = {operator: await issue_token(operator) for operator in {o for _, o in [chats[0], *ingest]}}
    return Targets(
        supervisor_token=await issue_token(admin),
        supervisor_id=admin,
        channel_id=to_global_id("OpenChannel", channel),
        fanout_chat_id=to_global_id("Chat", fanout_chat),
        fanout_operator_token=tokens[fanout_operator],
        ingest=[(tokens[operator], to_global_id("Chat", chat)) for chat, operator in ingest],
        ingest_chat_rows=[(chat, operator) for chat, operator in ingest],
    )
