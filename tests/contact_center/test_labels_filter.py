"""The conversations filter by labels and priorities: one rule (services/contact_center/
conversation_filters.py) read as the list's hand-written SQL and as an ORM `Q`; both select the
same chats, on both backends, and the GraphQL filter maps to it."""
from __future__ import annotations

from models import ChatPriority, OperatorRole
from resolvers.ids import to_global_id
from services.chats import chats, labels, priorities
from services.contact_center import conversation_filters, conversations
from services.policies.chats import visible_chats
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute


async def _world():
    me, me_v = await make_operator()
    _, supervisor_v = await make_operator(role=OperatorRole.SUPERVISOR)
    _, admin_v = await make_admin()
    stranger, _ = await make_operator()
    channel = await make_open_channel([me])
    other = await make_open_channel([stranger])
    vip = await labels.create_label(admin_v, name="VIP", color="#FFD700")
    billing = await labels.create_label(admin_v, name="Billing", color="#00AA00")
    unused = await labels.create_label(admin_v, name="Unused", color="#000000")
    made = {}
    for name, wanted, priority, where in (
        ("vip", [vip], ChatPriority.HIGH, channel), ("both", [vip, billing], ChatPriority.NORMAL, channel),
        ("billing", [billing], ChatPriority.URGENT, channel), ("none", [], ChatPriority.HIGH, channel),
        ("hidden vip", [vip], ChatPriority.HIGH, other),
    ):
        chat, _, _ = await start_chat(where, name=name)
        await chats.answer_chat(supervisor_v, chat_id=chat.id)
        await labels.set_chat_labels(supervisor_v, chat_id=chat.id, label_ids=[label.id for label in wanted])
        await priorities.set_chat_priority(supervisor_v, chat_id=chat.id, priority=priority)
        made[name] = chat.id
    return me_v, supervisor_v, made, vip, billing, unused


async def _titles_by_sql(viewer, **narrowing) -> set[str]:
    page = await conversations.conversations(viewer, filter=conversations.ConversationFilter(**narrowing), first=100)
    return {row.title for row in page.rows}


async def _titles_by_orm(viewer, label_ids=None, priorities=None) -> set[str]:
    query = conversation_filters.filtered(visible_chats(viewer), label_ids, priorities)
    return set(await query.values_list("title", flat=True))


async def test_the_sql_and_the_orm_filter_select_the_same_chats(db):
    me_v, supervisor_v, _, vip, billing, unused = await _world()
    cases = [
        (dict(label_ids=[vip.id]), {"vip", "both"}, {"vip", "both", "hidden vip"}),
        (dict(label_ids=[vip.id, billing.id]), {"vip", "both", "billing"}, {"vip", "both", "billing", "hidden vip"}),
        (dict(label_ids=[unused.id]), set(), set()),
        (dict(label_ids=[]), set(), set()),
        (dict(priorities=[ChatPriority.HIGH]), {"vip", "none"}, {"vip", "none", "hidden vip"}),
        (dict(priorities=[ChatPriority.HIGH, ChatPriority.URGENT], label_ids=[billing.id]), {"billing"}, {"billing"}),
        (dict(priorities=[]), set(), set()),
    ]
    for narrowing, mine, everyone in cases:
        assert await _titles_by_sql(me_v, **narrowing) == mine == await _titles_by_orm(me_v, **narrowing), narrowing
        assert await _titles_by_sql(supervisor_v, **narrowing) == everyone \
            == await _titles_by_orm(supervisor_v, **narrowing), narrowing


async def test_the_graphql_filter_and_the_chats_labels_and_priority(db):
    me_v, _, made, vip, billing, _ = await _world()
    query = """query($filter: ConversationFilter) { conversations(filter: $filter) {
        totalCount edges { node { title priority labels { name color } } } } }"""
    data = await execute(query, me_v, filter={"labelIds": [to_global_id("Label", vip.id)], "priorities": ["NORMAL"]})
    assert data["conversations"]["totalCount"] == 1
    assert data["conversations"]["edges"][0]["node"] == {
        "title": "both", "priority": "NORMAL",
        "labels": [{"name": "Billing", "color": "#00AA00"}, {"name": "VIP", "color": "#FFD700"}]}
