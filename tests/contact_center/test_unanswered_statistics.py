"""ConversationStats.unanswered: the window's conversations whose channel's no-answer rule fired
(whatever it did), against a hand-computed fixture."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from models import Chat, NoAnswerRule, OperatorStatus
from services.automation import scheduler
from services.chats import chats, open_channels
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

T = datetime(2030, 1, 10, tzinfo=timezone.utc)
STATS = """query($filter: StatisticsFilter!) { statistics(filter: $filter) {
  totals { conversations unanswered }
  byOpenChannel { openChannel { name } stats { conversations unanswered } }
} }"""


async def test_unanswered_counts_the_chats_whose_rule_fired(db, clock):
    operator, viewer = await make_operator(status=OperatorStatus.OFFLINE)
    _, admin = await make_admin()
    channels = {}
    for name, rule, timeout in (("A", NoAnswerRule.SEND_MESSAGE, 60), ("B", NoAnswerRule.CLOSE, 60),
                                ("C", NoAnswerRule.KEEP_WAITING, None)):
        channel = await make_open_channel([operator], name=name)
        channels[name] = await open_channels.update_open_channel(
            admin, open_channel_id=channel.id, no_answer_rule=rule, no_answer_timeout_seconds=timeout)
    c1 = (await start_chat(channels["A"]))[0]  # nobody answers: the message (still QUEUED)
    c2 = (await start_chat(channels["A"]))[0]  # answered in time
    c3 = (await start_chat(channels["B"]))[0]  # nobody answers: closed
    c4 = (await start_chat(channels["C"]))[0]  # waits, no rule
    c5 = (await start_chat(channels["A"]))[0]  # nobody answers, but created before the window
    clock.advance(30)
    await chats.answer_chat(viewer, chat_id=c2.id)
    clock.advance(30)
    await scheduler.tick()
    fired = set(await Chat.filter(no_answer_at__isnull=False).values_list("id", flat=True))
    assert fired == {c1.id, c3.id, c5.id}
    for chat, created in ((c1, T), (c2, T), (c3, T + timedelta(hours=2)), (c4, T), (c5, T - timedelta(hours=1))):
        await Chat.filter(id=chat.id).update(created_at=created)

    data = await execute(STATS, admin, filter={"from": T.isoformat(), "to": (T + timedelta(days=1)).isoformat()})
    statistics = data["statistics"]
    assert statistics["totals"] == {"conversations": 4, "unanswered": 2}  # c1, c3
    assert {row["openChannel"]["name"]: row["stats"] for row in statistics["byOpenChannel"]} == {
        "A": {"conversations": 2, "unanswered": 1}, "B": {"conversations": 1, "unanswered": 1},
        "C": {"conversations": 1, "unanswered": 0}}
