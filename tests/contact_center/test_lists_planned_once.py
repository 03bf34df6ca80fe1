"""The lists every console polls (conversations' first page, the sidebar) are statements whose ids
are written in (services/chats/chat_relations.ids_inline): PostgreSQL plans such a statement once per
connection and keeps the plan with the prepared statement, where one with placeholders was planned
again at every request (bench/HISTORY.md, "Tenth pass"). What is checked is PostgreSQL's own count of plans
(pg_prepared_statements, on the one connection of a transaction)."""
from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from models import Chat, ChatParticipant, ChatStatus
from services.chats.reads import my_chats
from services.contact_center.conversations import conversations
from tests.factories import make_open_channel, make_operator, start_chat

pytestmark = pytest.mark.postgres_only

RELATIONS = {"client", "operator", "last_message", "unread_count"}
RUNS = 8


async def _plans(tx, starts_with: str) -> list[dict]:
    return await tx.execute_query_dict(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE $1",
        [starts_with + "%"])


async def test_the_first_page_of_conversations_is_planned_once(db):
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    for name in ("Ana", "Ben", "Cy"):
        await start_chat(channel, name=name)
    async with in_transaction() as tx:
        for _ in range(RUNS):
            page = await conversations(me, first=50, relations=RELATIONS)
            assert [chat.title for chat in page.rows] == ["Cy", "Ben", "Ana"]
        [plans] = await _plans(tx, "WITH chats AS (SELECT c.id")
    assert plans == {"generic_plans": RUNS, "custom_plans": 0}


async def test_the_sidebar_is_planned_once(db):
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    chat, _, _ = await start_chat(channel, name="Ana")
    await ChatParticipant.create(chat_id=chat.id, operator_id=operator.id)
    await Chat.filter(id=chat.id).update(status=ChatStatus.ACTIVE, operator_id=operator.id)
    async with in_transaction() as tx:
        for _ in range(RUNS):
            groups = await my_chats(me, RELATIONS)
            assert [c.title for c in groups.waiting_first_response + groups.active] == ["Ana"]
        [plans] = await _plans(tx, "WITH chats AS (SELECT c.id")
    assert plans == {"generic_plans": RUNS, "custom_plans": 0}
