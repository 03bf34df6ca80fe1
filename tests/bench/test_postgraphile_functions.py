"""`--peers postgraphile` measures PostGraphile on SQL functions of its own (bench/postgraphile.py):
they must list the same chats, with the same fields, as the hand-written endpoint's statements
(bench/baseline.py) for every viewer of a small seeded database. PostGraphile itself (npm) is not
needed here: the functions are called as PostGraphile calls them, in a transaction whose
`jwt.claims.operator_id` is the viewer's.
"""
from __future__ import annotations

import asyncpg

from bench import baseline, postgraphile
from bench.seed import ensure_seeded
from tests.resources import TEST_POSTGRES_URL, database_name, drop_database

SCHEMA = postgraphile.SCHEMA
#: a chat as the GraphQL documents select it, from the functions' rows aliased `c`: each relation a
#: subquery, as PostGraphile selects them (a join could reorder the function's rows)
_FIELDS = (f"c.id, c.title, (SELECT cl.name FROM {SCHEMA}.client cl WHERE cl.id = c.client_id) AS client_name, "
           f"(SELECT op.name FROM {SCHEMA}.operator op WHERE op.id = c.operator_id) AS operator_name, "
           f"({SCHEMA}.chat_last_message(c)).text AS last_text, {SCHEMA}.chat_unread_count(c) AS unread")

def rows(records: list[asyncpg.Record]) -> list[tuple]:
    return [(r["id"], r["title"], r["client_name"], r["operator_name"], r["last_text"], r["unread"]) for r in records]


async def as_viewer(db: asyncpg.Connection, operator_id: int, sql: str) -> list[tuple]:
    async with db.transaction():
        await db.execute("SELECT set_config('jwt.claims.operator_id', $1, true)", str(operator_id))
        return rows(await db.fetch(sql))


async def test_the_functions_list_what_the_hand_written_statements_list() -> None:
    database = database_name("bench_pg")
    try:
        url = await ensure_seeded(0.002, reseed=True, database=database, progress=lambda line: None)
        await postgraphile.install_schema(url)
        await postgraphile.install_schema(url)  # again: a second run replaces the first's
        db = await asyncpg.connect(url, timeout=10)
        try:
            operators = await db.fetch("SELECT id, role, group_waiting_first_response FROM operator ORDER BY id")
            compared = {"conversations": 0, "waiting": 0, "active": 0, "unread": 0}
            for operator in operators:
                me = operator["id"]
                conversations = await as_viewer(
                    db, me, f"SELECT {_FIELDS} FROM {SCHEMA}.conversations() c LIMIT 50")
                waiting = await as_viewer(db, me, f"SELECT {_FIELDS} FROM {SCHEMA}.my_chats_waiting_first_response() c")
                active = await as_viewer(db, me, f"SELECT {_FIELDS} FROM {SCHEMA}.my_chats_active() c")

                # the hand-written endpoint's statements (bench/baseline.py) and its grouping of myChats
                mine = await db.fetch(baseline.MY_ACTIVE_CHATS, me)
                grouped = operator["group_waiting_first_response"]
                is_waiting = [grouped and r["operator_id"] == me and r["first_response_at"] is None for r in mine]
                assert waiting == rows([r for r, w in zip(mine, is_waiting) if w]), me
                assert active == rows([r for r, w in zip(mine, is_waiting) if not w]), me
                if operator["role"] in ("SUPERVISOR", "ADMIN"):  # every chat (the endpoint has no supervisor rule)
                    every = await db.fetch(baseline.chat_select(
                        chats="(SELECT * FROM chat WHERE kind = 'CUSTOMER' ORDER BY created_at DESC, id DESC "
                              "LIMIT 50)") + " ORDER BY c.created_at DESC, c.id DESC", me)
                    assert conversations == rows(every) and len(every) == 50
                else:
                    assert conversations == rows(await db.fetch(baseline.CONVERSATIONS, me, 50)), me
                compared["conversations"] += len(conversations)
                compared["waiting"] += len(waiting)
                compared["active"] += len(active)
                compared["unread"] += sum(row[-1] for row in conversations + waiting + active)

            # without a viewer (no or another JWT claim): nothing
            assert await as_viewer(db, 0, f"SELECT {_FIELDS} FROM {SCHEMA}.conversations() c") == []
        finally:
            await db.close()
        # the comparison was not vacuous: every list had chats, some unread
        assert all(count > 0 for count in compared.values()), compared
        await postgraphile.drop_schema(url)
    finally:
        await drop_database(database)


def test_the_jwt_is_hs256_with_postgraphiles_audience() -> None:
    import base64
    import hashlib
    import hmac
    import json

    token = postgraphile.jwt("secret", 42)
    header, claims, signature = token.split(".")

    def decoded(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    assert json.loads(decoded(header)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(decoded(claims))["operator_id"] == 42 and json.loads(decoded(claims))["aud"] == "postgraphile"
    assert decoded(signature) == hmac.new(b"secret", f"{header}.{claims}".encode(), hashlib.sha256).digest()


def test_peers_are_named_and_need_b1() -> None:
    import pytest

    from bench.run import main

    with pytest.raises(SystemExit) as unknown:
        main(["--peers", "hasura"])
    with pytest.raises(SystemExit) as without_b1:
        main(["--only", "B6", "--peers", "postgraphile"])
    assert unknown.value.code == without_b1.value.code == 2


def test_cpu_seconds_of_a_process_grow_with_its_work() -> None:
    import os
    import time

    from bench.cpu import process_seconds

    before = process_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert process_seconds(os.getpid()) - before >= 0.15
    assert process_seconds(2 ** 22 + 1) == 0.0  # no such process (above the kernel's pid limit)


def test_the_bench_stops_when_postgraphile_lists_other_chats() -> None:
    import pytest

    from bench.peers import compare_answers
    from resolvers.ids import to_global_id

    def chat(pk: int, global_id: bool, unread: int = 0) -> dict:
        return {"id": to_global_id("Chat", pk) if global_id else pk, "title": f"chat {pk}", "client": None,
                "operator": None, "lastMessage": None, "unreadCount": unread}

    def ours(*pks: int) -> dict:
        return {"data": {"conversations": {"edges": [{"node": chat(pk, True)} for pk in pks]}}}

    def theirs(*pks: int, unread: int = 0) -> dict:
        return {"data": {"conversations": {"edges": [{"node": chat(pk, False, unread)} for pk in pks]}}}

    assert compare_answers(ours(3, 2, 1), theirs(3, 2, 1), "conversations", "PG") == \
        "same 3 chats in the same order, same fields"
    assert compare_answers(ours(3, 2), theirs(3, 2, unread=1), "conversations", "PG").endswith("other fields differ")
    for other in (theirs(3, 1, 2), theirs(3, 2), theirs(3, 2, 1, 0)):
        with pytest.raises(RuntimeError, match="different chats"):
            compare_answers(ours(3, 2, 1), other, "conversations", "PG")
    with pytest.raises(RuntimeError, match="no chat"):
        compare_answers(ours(), theirs(), "conversations", "PG")
    my_chats = {"data": {"myChats": {"waitingFirstResponse": [chat(5, True)], "active": [chat(4, True)]}}}
    swapped = {"data": {"waitingFirstResponse": {"nodes": [chat(4, False)]}, "active": {"nodes": [chat(5, False)]}}}
    with pytest.raises(RuntimeError, match="different chats"):
        compare_answers(my_chats, swapped, "myChats", "PG")
