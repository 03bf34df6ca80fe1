"""`searchMessages`' first page in one statement (services/contact_center/search.py `_first_page`) and the stored search vectors
of PostgreSQL (services/contact_center/search_index.py)."""
from __future__ import annotations

import inspect
import json

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models import QueueDistribution
from resolvers.ids import to_global_id
from schema.contact_center.root import ranked_messages
from services.contact_center import search
from services.contact_center.search_index import OBSOLETE_INDEXES, POSTGRES_COLUMNS, ensure_search_index
from tests.factories import make_open_channel, make_operator, start_chat

TEXTS = ["parcel parcel parcel old", "parcel one", "parcel two", "parcel parcel newer", "parcel three", "no match"]


async def _parcels():
    ann, ann_v = await make_operator("Ann")
    channel = await make_open_channel([ann], distribution=QueueDistribution.ALL)
    for text in TEXTS:
        await start_chat(channel, text)
    return ann_v


def _shape(page) -> tuple:
    return ([m.id for m in page.rows], page.cursors, page.has_next_page, page.has_previous_page, page.total_count)


def _searches(statements: list[str]) -> int:
    """How many statements looked for matches (the total's count aside)."""
    return sum(1 for sql in statements
               if ("message_fts" in sql or "@@" in sql) and not sql.startswith("SELECT COUNT(*)"))


async def _without_first_page(*_args, **_kwargs):
    return None


@pytest.mark.parametrize("ranked_newest", [3, 1000])  # a floor pinned in the cursors, and every match ranked
async def test_the_first_page_in_one_statement_is_the_page_found_from_the_floor(db, monkeypatch, count_queries,
                                                                                ranked_newest):
    monkeypatch.setattr(search, "RANKED_NEWEST", ranked_newest)
    ann_v = await _parcels()
    await search.search_messages(ann_v, query="warm", first=1)  # the first search on a connection checks the index
    for with_total in (True, False):
        with count_queries() as one:
            fast = await search.search_messages(ann_v, query="parcel", first=2, with_total=with_total)
        monkeypatch.setattr(search, "_first_page", _without_first_page)
        with count_queries() as two:
            slow = await search.search_messages(ann_v, query="parcel", first=2, with_total=with_total)
        monkeypatch.undo()
        monkeypatch.setattr(search, "RANKED_NEWEST", ranked_newest)
        assert _shape(fast) == _shape(slow)
        assert fast.cursors[0] == slow.cursors[0]  # the same floor pinned (or none)
        assert _searches(one.statements) == 1 and _searches(two.statements) >= 2  # the floor (in windows), the page
        following = await search.search_messages(ann_v, query="parcel", first=10, after=fast.cursors[-1])
        assert sorted(m.id for m in fast.rows + following.rows) == sorted({m.id for m in fast.rows + following.rows})
        assert len(fast.rows) + len(following.rows) == 5


async def test_too_few_matches_in_the_window_fall_back_to_the_floor_search(db, monkeypatch):
    """PostgreSQL: when the newest FLOOR_WINDOWS[0] messages hold fewer than RANKED_NEWEST matches, older ones may be
    ranked too: the floor is searched for (the later windows, then every match) before the page."""
    monkeypatch.setattr(search, "RANKED_NEWEST", 3)
    ann_v = await _parcels()
    expected = _shape(await search.search_messages(ann_v, query="parcel", first=2))
    monkeypatch.setattr(search, "FLOOR_WINDOWS", (2, 1 << 18))  # the two newest messages hold one match
    assert _shape(await search.search_messages(ann_v, query="parcel", first=2)) == expected
    monkeypatch.setattr(search, "FLOOR_WINDOWS", (2, 3))  # and the three newest two
    assert _shape(await search.search_messages(ann_v, query="parcel", first=2)) == expected
    monkeypatch.setattr(search, "FLOOR_WINDOWS", (1, 1 << 18))  # the newest holds none: the next window starts below
    assert _shape(await search.search_messages(ann_v, query="parcel", first=2)) == expected
    monkeypatch.setattr(search, "FLOOR_WINDOWS", (1, 3))  # and holds two
    assert _shape(await search.search_messages(ann_v, query="parcel", first=2)) == expected
    first = await search.search_messages(ann_v, query="parcel", first=2)
    rest = await search.search_messages(ann_v, query="parcel", first=10, after=first.cursors[-1])
    assert [m.text for m in first.rows + rest.rows] == [
        "parcel parcel newer", "parcel three", "parcel two", "parcel one", "parcel parcel parcel old"]


async def _columns_and_indexes(connection) -> tuple[set, set]:
    columns = {row["attname"] for row in await connection.execute_query_dict(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'message'::regclass AND attgenerated = 's' "
        "AND NOT attisdropped")}
    indexes = {row["indexname"] for row in await connection.execute_query_dict(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'message'")}
    return columns, indexes


@pytest.mark.postgres_only
async def test_an_older_database_gets_the_stored_vectors_and_loses_the_expression_indexes(db):
    """A database indexed by an earlier version (GIN indexes on `to_tsvector(text)`, no columns) is brought up to date
    by the idempotent set-up, its messages included."""
    connection = connections.get("default")
    ann_v = await _parcels()
    await ensure_search_index(connection)
    drop = "; ".join(f"DROP INDEX message_{column}" for column in POSTGRES_COLUMNS)
    try:
        await connection.execute_script(
            f"{drop}; ALTER TABLE message " + ", ".join(f"DROP COLUMN {column}" for column in POSTGRES_COLUMNS) + "; "
            + "; ".join(f"CREATE INDEX {index} ON message USING GIN (to_tsvector('{config}', text))"
                        for index, config in zip(OBSOLETE_INDEXES, POSTGRES_COLUMNS.values())))
    finally:
        for _ in range(2):  # idempotent
            await ensure_search_index(connection)
    columns, indexes = await _columns_and_indexes(connection)
    assert columns == set(POSTGRES_COLUMNS)
    assert {f"message_{column}" for column in POSTGRES_COLUMNS} <= indexes and not indexes & set(OBSOLETE_INDEXES)
    page = await search.search_messages(ann_v, query="parcels", first=10)  # english stemming: "parcels" finds "parcel"
    assert len(page.rows) == 5


@pytest.mark.postgres_only
async def test_searches_read_the_stored_vectors_not_the_text(db):
    await ensure_search_index(connections.get("default"))
    for sql in (search.match_sql(["parcel"]), search.rank_sql(["parcel"])):
        assert "to_tsvector" not in sql and all(f'"message"."{column}"' in sql for column in POSTGRES_COLUMNS)


async def test_words_the_language_drops_are_found_as_they_are(db):
    """"no" is an English stop word: only the `simple` vector holds it (PostgreSQL), and FTS5 keeps every word."""
    ann_v = await _parcels()
    for query, expected in (("no", ["no match"]), ("no match", ["no match"]), ("parcel", TEXTS[:5])):
        page = await search.search_messages(ann_v, query=query, first=10)
        assert sorted(m.text for m in page.rows) == sorted(expected), query


def _plan(rows: list[dict]) -> str:
    return "\n".join(row["QUERY PLAN"] for row in rows)


@pytest.mark.postgres_only
async def test_the_first_page_is_one_statement_that_plans_no_parallel_workers(db, count_queries):
    """The statement finds the newest id itself (no statement before it) and runs outside a transaction (no SET
    LOCAL): nothing but its `SERIAL` column keeps PostgreSQL from starting parallel workers for the walk, which here
    it would even when they cost nothing."""
    ann_v = await _parcels()
    await search.search_messages(ann_v, query="warm", first=1)  # the first search on a connection checks the index
    with count_queries() as counter:
        page = await search.search_messages(ann_v, query="parcel", first=2, with_total=False)
    assert sorted(m.text for m in page.rows) == ["parcel parcel newer", "parcel parcel parcel old"]  # the best two
    assert counter.count == 1
    statement, values = counter.statements[0], counter.values[0]
    assert search.SERIAL in statement
    async with in_transaction() as tx:
        for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_index_scan_size",
                        "min_parallel_table_scan_size"):
            await tx.execute_script(f"SET LOCAL {setting} = 0")
        await tx.execute_script("SET LOCAL max_parallel_workers_per_gather = 2")
        guarded = _plan(await tx.execute_query_dict(f"EXPLAIN {statement}", values))
        unguarded = _plan(await tx.execute_query_dict(
            "EXPLAIN " + statement.replace(f',{search.SERIAL} "serial"', ""), values))
    assert "Gather" not in guarded, guarded
    assert "Gather" in unguarded, unguarded  # the guard is what keeps the workers away


def _scans_of(plan: dict, table: str) -> int:
    """How many nodes of the plan read `table`, the sub-selects (InitPlan, SubPlan) aside."""
    if plan.get("Parent Relationship") in ("InitPlan", "SubPlan"):
        return 0
    return (plan.get("Relation Name") == table) + sum(_scans_of(child, table) for child in plan.get("Plans", []))


@pytest.mark.postgres_only
async def test_the_first_page_reads_each_match_once(db, count_queries):
    """The walk that finds the newest matches hands their rows to the ranking: the statement reads `message` in
    one place (the newest id and the oldest are sub-selects), not again by primary key for each match found."""
    ann_v = await _parcels()
    await search.search_messages(ann_v, query="warm", first=1)  # the first search on a connection checks the index
    with count_queries() as counter:
        page = await search.search_messages(ann_v, query="parcel", first=2, with_total=False)
    assert sorted(m.text for m in page.rows) == ["parcel parcel newer", "parcel parcel parcel old"]  # the best two
    assert [chat.title for chat in (found["chat"] for found in page.relations.values())]  # read with the page
    rows = await connections.get("default").execute_query_dict(f"EXPLAIN (FORMAT JSON) {counter.statements[0]}",
                                                               counter.values[0])
    plan = rows[0]["QUERY PLAN"]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    assert _scans_of(plan, "message") == 1, plan


async def test_a_search_hit_gives_its_chat_without_an_await(db):
    """The chats read with the page are the hits' `chat` as they are: an awaitable per hit, even of a primed
    DataLoader, made graphql-core gather a task per hit (two more turns of the event loop for the page)."""
    ann_v = await _parcels()
    page = await search.search_messages(ann_v, query="parcel", first=3, with_total=False)
    nodes = [edge.node for edge in ranked_messages(page).edges]
    chats = [node.chat(None) for node in nodes]
    assert not [chat for chat in chats if inspect.isawaitable(chat)]
    assert [chat.id for chat in chats] == [to_global_id("Chat", node.chat_pk) for node in nodes]
    assert all(chat.title.startswith("Guest") for chat in chats), [chat.title for chat in chats]  # the visitors' chats
