"""`slaBreached` in the conversations filter and in ConversationStats, against a hand-computed fixture:
the filter is one rule (services/contact_center/conversation_filters.py) read as the list's SQL and
as an ORM query, both selecting the same chats; the statistics count it in SQL on both backends."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from models import Chat, OperatorRole, OperatorStatus
from services.automation import scheduler
from services.chats import chats, open_channels, sla_policies
from services.contact_center import conversation_filters, conversations
from services.policies.chats import visible_chats
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

T = datetime(2030, 1, 10, tzinfo=timezone.utc)
STATS = """query($filter: StatisticsFilter!) { statistics(filter: $filter) {
  totals { conversations slaBreached }
  byOpenChannel { openChannel { name } stats { conversations slaBreached } }
  byOperator { operator { name } stats { conversations slaBreached } }
} }"""
LIST = """query($filter: ConversationFilter) { conversations(filter: $filter, first: 50) {
  edges { node { title sla { breached } } } } }"""


async def _fixture(clock):
    """Channels A and B share a policy (first response 60 s, resolution 300 s); C has none.

    a1: answered at 30 s, finished at 100 s: every target kept.
    a2: never answered: FIRST_RESPONSE missed at 60 s, RESOLUTION at 300 s (still waiting).
    a3: answered at 90 s (FIRST_RESPONSE missed), then finished at 200 s.
    b1: answered at 30 s, open past 300 s: RESOLUTION missed.
    c1: no policy, never answered: no service levels at all.
    old: like a2 but created before the statistics' window.
    """
    operator, me = await make_operator("Olga", status=OperatorStatus.OFFLINE)
    _, admin = await make_admin()
    policy = await sla_policies.create_sla_policy(admin, name="Std", first_response_seconds=60,
                                                  resolution_seconds=300)
    channels = {}
    for name, policy_id in (("A", policy.id), ("B", policy.id), ("C", None)):
        channel = await make_open_channel([operator], name=name, answer_timeout_seconds=100_000)
        channels[name] = await open_channels.update_open_channel(admin, open_channel_id=channel.id,
                                                                 sla_policy_id=policy_id)
    made = {}
    for title, channel in (("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("c1", "C"), ("old", "A")):
        made[title] = (await start_chat(channels[channel], name=title))[0].id
    clock.advance(30)
    await chats.answer_chat(me, chat_id=made["a1"])
    await chats.answer_chat(me, chat_id=made["b1"])
    clock.advance(30)
    await scheduler.tick()
    clock.advance(30)
    await chats.answer_chat(me, chat_id=made["a3"])
    clock.advance(10)
    await chats.finish_chat(me, chat_id=made["a1"])
    clock.advance(100)
    await chats.finish_chat(me, chat_id=made["a3"])
    clock.advance(200)
    await scheduler.tick()
    for title, chat_id in made.items():
        await Chat.filter(id=chat_id).update(created_at=T - timedelta(hours=1) if title == "old" else T)
    return admin, me, made


async def test_sla_breached_in_statistics_and_the_conversations_filter(db, clock):
    admin, me, made = await _fixture(clock)
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)
    missed = {"a2", "a3", "b1", "old"}

    data = await execute(STATS, admin, filter={"from": T.isoformat(), "to": (T + timedelta(days=1)).isoformat()})
    statistics = data["statistics"]
    assert statistics["totals"] == {"conversations": 5, "slaBreached": 3}  # a2, a3, b1 ("old" is outside)
    assert {row["openChannel"]["name"]: row["stats"] for row in statistics["byOpenChannel"]} == {
        "A": {"conversations": 3, "slaBreached": 2}, "B": {"conversations": 1, "slaBreached": 1},
        "C": {"conversations": 1, "slaBreached": 0}}
    assert {row["operator"]["name"]: row["stats"] for row in statistics["byOperator"]} == {
        "Olga": {"conversations": 3, "slaBreached": 2}}  # a1, a3, b1 are hers

    for breached, expected in ((True, missed), (False, set(made) - missed)):
        page = await conversations.conversations(
            supervisor, filter=conversations.ConversationFilter(sla_breached=breached), first=100)
        assert {row.title for row in page.rows} == expected
        by_orm = conversation_filters.filtered(visible_chats(supervisor), None, None, breached)
        assert set(await by_orm.values_list("title", flat=True)) == expected
        data = await execute(LIST, supervisor, filter={"slaBreached": breached})
        assert {edge["node"]["title"] for edge in data["conversations"]["edges"]} == expected
    data = await execute(LIST, supervisor, filter={"slaBreached": True})
    assert {edge["node"]["title"]: edge["node"]["sla"]["breached"] for edge in data["conversations"]["edges"]} == {
        "a2": ["FIRST_RESPONSE", "RESOLUTION"], "a3": ["FIRST_RESPONSE"], "b1": ["RESOLUTION"],
        "old": ["FIRST_RESPONSE", "RESOLUTION"]}
