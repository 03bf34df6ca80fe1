"""PostgreSQL after `openchannels migrate`: an operator's own chats are found through that operator's
participations, not by reading every active chat of the contact center (migration 0015).

A new operator beside 150 veterans with 40 chats each: with PostgreSQL's default statistics the
planner guesses the newcomer has as many participations as an average veteran, and answers
`myChats` by reading all active chats and hash-joining them; with the migration's statistics it
knows the newcomer has 3 and looks those chats up by their ids.
"""
from __future__ import annotations

import json
import subprocess

import asyncpg
import pytest

from tests.cli.running import COMMAND, cli_env

pytestmark = pytest.mark.postgres_only

VETERANS, CHATS_EACH, NEWCOMER_CHATS = 150, 40, 3

#: the shape of the sidebar's statement (services' myChats read model): active chats the viewer takes part in
MY_ACTIVE = ("SELECT c.id FROM chat c WHERE c.status = 'ACTIVE' "
             "AND c.id IN (SELECT chat_id FROM chat_participant WHERE operator_id = $1)")

SEED = f"""
INSERT INTO operator (name, email, role, status, show_open_channels_separately, group_waiting_first_response,
                      created_at)
SELECT 'Operator ' || n, 'op' || n || '@example.test', 'OPERATOR', 'ONLINE', false, false, now()
FROM generate_series(1, {VETERANS + 1}) n;
INSERT INTO chat (kind, title, status, pinned, created_at)
SELECT 'CUSTOMER', 'Chat ' || n, CASE WHEN n % 2 = 0 THEN 'ACTIVE' ELSE 'CLOSED' END, false, now()
FROM generate_series(1, {VETERANS * CHATS_EACH + NEWCOMER_CHATS}) n;
INSERT INTO chat_participant (added_at, chat_id, operator_id)
SELECT now(), c.id, 1 + (c.id - 1) / {CHATS_EACH}
FROM chat c WHERE c.id <= {VETERANS * CHATS_EACH};
UPDATE chat SET status = 'ACTIVE' WHERE id > {VETERANS * CHATS_EACH};
INSERT INTO chat_participant (added_at, chat_id, operator_id)
SELECT now(), c.id, {VETERANS + 1} FROM chat c WHERE c.id > {VETERANS * CHATS_EACH};
ANALYZE chat_participant; ANALYZE chat;
"""


def nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes(child))]


async def test_a_newcomers_chats_are_looked_up_by_their_participations(tmp_path):
    from tests.resources import create_database, database_name, drop_database

    name = database_name("planner")
    url = await create_database(name)
    try:
        migrate = subprocess.run([*COMMAND, "migrate"], cwd=tmp_path, env=cli_env(url), capture_output=True,
                                 text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert migrate.returncode == 0, migrate.stderr
        assert "applying models.0015_participant_statistics" in migrate.stdout
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(SEED)
            [[plan_json]] = await connection.fetch(f"EXPLAIN (FORMAT JSON) {MY_ACTIVE}", VETERANS + 1)
            found = await connection.fetch(MY_ACTIVE, VETERANS + 1)
        finally:
            await connection.close()
    finally:
        await drop_database(name)

    assert len(found) == NEWCOMER_CHATS
    plan = nodes(json.loads(plan_json)[0]["Plan"])
    participations = next(node for node in plan if node.get("Relation Name") == "chat_participant")
    chats = next(node for node in plan if node.get("Relation Name") == "chat")
    assert participations["Plan Rows"] <= 2 * NEWCOMER_CHATS, participations  # ~40 with default statistics
    assert chats["Node Type"] == "Index Scan" and chats["Index Name"] == "chat_pkey", chats
