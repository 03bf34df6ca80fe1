"""The chats the bench writes into (B2's fan-out chat, B3's, B4w's and B8's writers: bench/targets.py)
are in none of the lists B1 measures: no bench operator sees them (the hand-written endpoint's
statements, bench/baseline.py, say so independently of the project's policy the choice is made
from), and the supervisor's `conversations(first: 50)`, the newest chats first, does not reach them.
So a run's messages do not make the next run's lists dearer. The choice is the seed's: the same
chats when asked again after writes and a newer chat."""
from __future__ import annotations

import asyncpg

from bench import baseline
from bench.seed import BENCH_CHANNELS, Shape, ensure_seeded
from bench.targets import BENCH_EMAILS, written_chats
from tests.resources import database_name, drop_database

SCALE = 0.002  # tests/bench/test_bench_run.py's: its --writers 3 need 4 chats (with the fan-out chat)


async def test_the_written_chats_are_in_no_list_b1_measures() -> None:
    database = database_name("bench_targets")
    try:
        url = await ensure_seeded(SCALE, reseed=True, database=database, progress=lambda line: None)
        shape = Shape.at(SCALE)
        assert shape.channels >= 2 * BENCH_CHANNELS
        db = await asyncpg.connect(url, timeout=10)
        try:
            chats = await written_chats(db, shape.chats)
            assert len(chats) >= 4, chats
            assert len({operator for _, operator in chats}) == len(chats)  # one chat per operator
            written = {chat for chat, _ in chats}

            # no bench operator lists them: every chat each may see (the endpoint's rule), and myChats
            bench = await db.fetch("SELECT id FROM operator WHERE email LIKE $1", BENCH_EMAILS)
            assert len(bench) == 3
            for operator in bench:
                visible = {r["id"] for r in await db.fetch(baseline.CONVERSATIONS, operator["id"], shape.chats)}
                mine = {r["id"] for r in await db.fetch(baseline.MY_ACTIVE_CHATS, operator["id"])}
                assert visible and mine and not (visible | mine) & written, operator["id"]

            # the supervisor's first page (and B6's largest): the newest chats, which writing does not change
            newest = {r["id"] for r in await db.fetch(
                "SELECT id FROM chat ORDER BY created_at DESC, id DESC LIMIT 100")}
            assert not newest & written
            statuses = {r["status"] for r in await db.fetch("SELECT status FROM chat WHERE id = ANY($1::int[])",
                                                            list(written))}
            assert statuses == {"ACTIVE"}

            # the same chats after messages in them and a chat newer than the seed's (as B2 and B3 leave)
            await db.execute("INSERT INTO message (chat_id, author_kind, text, silent, created_at, deleted) "
                             "SELECT id, 'CLIENT', 'again', false, now(), false FROM chat WHERE id = ANY($1::int[])",
                             list(written))
            await db.execute("INSERT INTO chat (kind, title, status, pinned, created_at, last_activity_at, "
                             "open_channel_id, operator_id) SELECT kind, 'newer', status, false, now(), now(), "
                             "open_channel_id, operator_id FROM chat WHERE id = $1", chats[0][0])
            assert await written_chats(db, shape.chats) == chats
        finally:
            await db.close()
    finally:
        await drop_database(database)
