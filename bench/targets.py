"""Who and what B2-B5 act on in the seeded data, with a token for each operator involved.

- the supervisor (the seeded admin): subscribes (B2) and searches and reads statistics over
  all channels (B4, B5);
- the fan-out channel: the last open channel (the seed's channels after the first four have
  no bench operator of B1 in their queue, bench/seed.py: the visitor chats B2 starts are not
  offered to them);
- the fan-out chat and the ingest chats (B2's, B3's, B4w's and B8's writes): ACTIVE customer
  chats of regular operators, one chat per operator, that none of B1's viewers lists. No bench
  operator sees them (the project's own rule, services/policies/chats.py: they are in no queue
  of a bench operator, which is not responsible, a participant or offered), and the supervisor,
  who sees every chat, does not page through them: its `conversations(first: 50)` lists the
  newest chats by `created_at`, which a message does not move (it moves `last_activity_at`),
  and the ingest chats are older than the seed's newest `SPARED_NEWEST`. Otherwise a run's
  thousands of messages stay unread in the lists B1 measures, and the next run's unread counts
  cost PostgreSQL more (runs without --reseed would not be comparable). The choice depends on
  the seed only (its seeded chats' ids, operators, channels and statuses; nothing the bench
  changes), so every run writes into the same chats.

Tokens are issued through the real service (services/identity/auth.py), on an initialised database.
"""
from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from resolvers.ids import to_global_id

#: the seed's newest chats (ids grow with `created_at`), which no writer writes into: the
#: supervisor's `conversations(first: 50)` pages through the newest 50, B6 through up to 100
SPARED_NEWEST = 100
#: the B1 bench operators (bench/seed.py BENCH_OPERATORS)
BENCH_EMAILS = "bench%@bench.openchannels"

#: the chats `written_chats` picks ({unseen}: `AND NOT (...)` per bench operator)
CHATS = """
SELECT DISTINCT ON (c.operator_id) c.id, c.operator_id
FROM chat c JOIN operator o ON o.id = c.operator_id
WHERE c.status = 'ACTIVE' AND c.kind = 'CUSTOMER' AND o.email NOT LIKE $1 AND o.role = 'OPERATOR'
  AND c.id <= $2 {unseen}
ORDER BY c.operator_id, c.id DESC
"""


async def written_chats(db: asyncpg.Connection, seeded_chats: int) -> list[tuple[int, int]]:
    """(chat id, operator id) of the chats the bench may write into, by operator id: a regular
    operator's newest ACTIVE customer chat among the seed's (`seeded_chats`: how many it made,
    bench/seed.py Shape.chats, ids 1 to that) but its newest SPARED_NEWEST, that none of the bench
    operators may see (services/policies/chats.py, the project's own rule, negated)."""
    from models import OperatorRole
    from services.identity.viewer import Viewer
    from services.policies.chats import visible_chats_sql

    values: list = [BENCH_EMAILS, seeded_chats - SPARED_NEWEST]

    def param(value: object) -> str:
        values.append(value)
        return f"${len(values)}"

    bench = await db.fetch("SELECT id, role FROM operator WHERE email LIKE $1 ORDER BY id", BENCH_EMAILS)
    seen = [visible_chats_sql(Viewer(operator_id=r["id"], role=OperatorRole(r["role"])), param) for r in bench]
    if not bench or any(condition is None for condition in seen):
        raise RuntimeError("the bench operators are missing or see every chat: reseed (--reseed)")
    unseen = "".join(f" AND NOT ({condition})" for condition in seen)
    return [(r["id"], r["operator_id"]) for r in await db.fetch(CHATS.format(unseen=unseen), *values)]


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


async def find_targets(url: str, writers: int, seeded_chats: int) -> Targets:
    """Call with the database initialised (openchannels.database.init_database); `seeded_chats`:
    how many chats the seed made (`written_chats`)."""
    from services.identity.auth import issue_token

    db = await asyncpg.connect(url, timeout=10)
    try:
        admin = await db.fetchval("SELECT id FROM operator WHERE role = 'ADMIN' ORDER BY id LIMIT 1")
        channel = await db.fetchval("SELECT MAX(id) FROM open_channel")
        chats = await written_chats(db, seeded_chats)
    finally:
        await db.close()
    if len(chats) < 2:
        raise RuntimeError("fewer than 2 regular operators with an ACTIVE chat no B1 viewer lists: raise --scale")
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
