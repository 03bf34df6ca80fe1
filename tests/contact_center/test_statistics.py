"""Statistics checked against a hand-computed fixture of conversations with known timestamps."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from models import Chat, ChatRating, QueueDistribution
from resolvers.ids import to_global_id
from services.chats import chats
from services.messaging import messages
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute, execute_raw

T = datetime(2030, 1, 10, tzinfo=timezone.utc)
H = timedelta(hours=1)

STATS = """query($filter: StatisticsFilter!) { statistics(filter: $filter) {
  totals { ...S }
  byOperator { operator { name } stats { ...S } }
  byOpenChannel { openChannel { name } stats { ...S } }
  byDay { day stats { ...S } }
} }
fragment S on ConversationStats {
  conversations queued active closed spam missed averageFirstResponseSeconds medianFirstResponseSeconds
  averageResolutionSeconds likes dislikes clientMessages operatorMessages
}"""


def figures(conversations=0, queued=0, active=0, closed=0, spam=0, missed=0, avg_first=None, median_first=None,
            avg_resolution=None, client=0, operator=0, likes=0, dislikes=0) -> dict:
    return {"conversations": conversations, "queued": queued, "active": active, "closed": closed, "spam": spam,
            "missed": missed, "averageFirstResponseSeconds": avg_first, "medianFirstResponseSeconds": median_first,
            "averageResolutionSeconds": avg_resolution, "likes": likes, "dislikes": dislikes, "clientMessages": client,
            "operatorMessages": operator}


async def _conversation(channel, operator=None, *, created: datetime, first_response: float | None = None,
                        closed_after: float | None = None, end: str | None = None, client_messages: int = 1,
                        operator_messages: int = 0, silent_notes: int = 0, vote: str | None = None) -> Chat:
    """A conversation whose timestamps are then set exactly: first response and close are seconds
    after `created`."""
    chat, visitor, _ = await start_chat(channel, "hello")
    for _ in range(client_messages - 1):
        await messages.send_visitor_message(visitor, text="more")
    if operator is not None:
        await chats.answer_chat(operator, chat_id=chat.id)
        for _ in range(operator_messages):
            await messages.send_message(operator, chat_id=chat.id, text="answer")
        for _ in range(silent_notes):
            await messages.send_message(operator, chat_id=chat.id, text="note", silent=True)
        if end == "finish":
            await chats.finish_chat(operator, chat_id=chat.id)
        elif end == "spam":
            await chats.mark_chat_spam(operator, chat_id=chat.id)
    await Chat.filter(id=chat.id).update(
        created_at=created,
        first_response_at=created + timedelta(seconds=first_response) if first_response is not None else None,
        closed_at=created + timedelta(seconds=closed_after) if closed_after is not None else None,
    )
    if vote is not None:  # the client's rating (null vote: asked, not answered)
        await ChatRating.filter(chat_id=chat.id).delete()
        await ChatRating.create(chat_id=chat.id, requested_at=created, vote=vote or None,
                                rated_at=created if vote else None)
    return chat


@pytest.fixture
async def world(db):
    ann, ann_v = await make_operator("Ann")
    bob, bob_v = await make_operator("Bob")
    a = await make_open_channel([ann, bob], distribution=QueueDistribution.STRICT, name="A")
    b = await make_open_channel([bob], distribution=QueueDistribution.STRICT, name="B")
    # day 1 (2030-01-10)
    await _conversation(a, ann_v, created=T + H, first_response=60, closed_after=3600, end="finish",
                        operator_messages=1, silent_notes=1, vote="LIKE")                           # c1
    await _conversation(a, ann_v, created=T + 3 * H, first_response=120, client_messages=2,
                        operator_messages=1)                                                        # c2 active
    await _conversation(b, None, created=T + 5 * H)                                                # c5 queued
    await _conversation(b, bob_v, created=T + 6 * H, end="spam")                                    # c6 spam
    # day 2 (2030-01-11)
    await _conversation(a, ann_v, created=T + 25 * H, closed_after=1800, end="finish", vote="DISLIKE")  # c3 missed
    await _conversation(b, bob_v, created=T + 26 * H, first_response=30, closed_after=3600, end="finish",
                        operator_messages=2, vote="")                                               # c4 unrated
    # c1 liked, c3 disliked, c4 asked but not rated; a like outside the window below
    # outside the window [T, T + 2 days)
    await _conversation(a, ann_v, created=T - H, first_response=5, operator_messages=1, end="finish", vote="LIKE")
    await _conversation(a, None, created=T + 48 * H)
    _, admin = await make_admin()
    return {"admin": admin, "ann": ann_v, "bob": bob_v, "a": a, "b": b, "ann_op": ann}


WINDOW = {"from": T.isoformat(), "to": (T + 48 * H).isoformat()}

ANN = figures(3, active=1, closed=2, missed=1, avg_first=90.0, median_first=90.0, avg_resolution=2700.0,
              client=4, operator=2, likes=1, dislikes=1)
BOB = figures(2, closed=1, spam=1, avg_first=30.0, median_first=30.0, avg_resolution=3600.0, client=2, operator=2)


async def test_a_supervisor_sees_every_figure_as_computed_by_hand(world):
    data = (await execute(STATS, world["admin"], filter=WINDOW))["statistics"]
    assert data["totals"] == figures(6, queued=1, active=1, closed=3, spam=1, missed=1, avg_first=70.0,
                                     median_first=60.0, avg_resolution=3000.0, client=7, operator=4, likes=1,
                                     dislikes=1)
    assert data["byOperator"] == [{"operator": {"name": "Ann"}, "stats": ANN},
                                  {"operator": {"name": "Bob"}, "stats": BOB}]
    assert data["byOpenChannel"] == [
        {"openChannel": {"name": "A"}, "stats": ANN},
        {"openChannel": {"name": "B"}, "stats": figures(3, queued=1, closed=1, spam=1, avg_first=30.0,
                                                         median_first=30.0, avg_resolution=3600.0, client=3,
                                                         operator=2)},
    ]
    assert data["byDay"] == [
        {"day": "2030-01-10", "stats": figures(4, queued=1, active=1, closed=1, spam=1, avg_first=90.0,
                                               median_first=90.0, avg_resolution=3600.0, client=5, operator=2,
                                               likes=1)},
        {"day": "2030-01-11", "stats": figures(2, closed=2, missed=1, avg_first=30.0, median_first=30.0,
                                               avg_resolution=2700.0, client=2, operator=2, dislikes=1)},
    ]


async def test_filters_narrow_every_figure(world):
    only_b = {**WINDOW, "openChannelIds": [to_global_id("OpenChannel", world["b"].id)]}
    data = (await execute(STATS, world["admin"], filter=only_b))["statistics"]
    assert data["totals"]["conversations"] == 3 and [g["openChannel"]["name"] for g in data["byOpenChannel"]] == ["B"]
    day_two = {"from": (T + 24 * H).isoformat(), "to": (T + 48 * H).isoformat(),
               "operatorIds": [to_global_id("Operator", world["ann_op"].id)]}
    data = (await execute(STATS, world["admin"], filter=day_two))["statistics"]
    assert data["totals"] == figures(1, closed=1, missed=1, avg_resolution=1800.0, client=1, dislikes=1)


async def test_an_operator_gets_only_their_own_numbers(world):
    data = (await execute(STATS, world["ann"], filter=WINDOW))["statistics"]
    assert data["totals"] == ANN
    assert [g["operator"]["name"] for g in data["byOperator"]] == ["Ann"]
    assert [g["openChannel"]["name"] for g in data["byOpenChannel"]] == ["A"]
    asking_for_bob = {**WINDOW, "operatorIds": [to_global_id("Operator", (await _bob_id(world)))]}
    assert (await execute(STATS, world["ann"], filter=asking_for_bob))["statistics"]["totals"]["conversations"] == 0


async def _bob_id(world) -> int:
    return world["bob"].operator_id


async def test_statistics_take_a_fixed_number_of_statements(world, count_queries, backend):
    with count_queries() as counter:
        await execute("query($f: StatisticsFilter!) { statistics(filter: $f) { totals { conversations } "
                      "byOperator { stats { missed } } byDay { day } } }", world["admin"], f=WINDOW)
    statements = counter.statements
    if backend == "postgres":  # JIT off for the statement alone: it compiled for longer than it ran
        assert statements[0] == "SET LOCAL jit = off", statements
        statements = statements[1:]
    assert len(statements) == 1, statements  # one statement for totals and every breakdown


async def test_an_empty_window_and_a_reversed_one(world):
    empty = {"from": (T + 100 * H).isoformat(), "to": (T + 101 * H).isoformat()}
    data = (await execute(STATS, world["admin"], filter=empty))["statistics"]
    assert data["totals"] == figures() and data["byDay"] == [] and data["byOperator"] == []
    reversed_window = {"from": WINDOW["to"], "to": WINDOW["from"]}
    result = await execute_raw(STATS, world["admin"], filter=reversed_window)
    assert result.errors[0].extensions["code"] == "INVALID_INPUT"


async def test_message_counts_are_read_only_when_asked_for_but_always_right(world):
    """Without clientMessages/operatorMessages in the query the messages are not read: every other
    figure is the same, and asking for a count inside an inline fragment still gets it."""
    plain = ("query($f: StatisticsFilter!) { statistics(filter: $f) { totals { conversations missed likes "
             "medianFirstResponseSeconds } byDay { day stats { conversations } } } }")
    data = (await execute(plain, world["admin"], f=WINDOW))["statistics"]
    assert data["totals"] == {"conversations": 6, "missed": 1, "likes": 1, "medianFirstResponseSeconds": 60.0}
    assert [d["stats"]["conversations"] for d in data["byDay"]] == [4, 2]
    inline = ("query($f: StatisticsFilter!) { statistics(filter: $f) { byOperator { stats { ... on ConversationStats "
              "{ clientMessages } } } totals { operatorMessages } } }")
    data = (await execute(inline, world["admin"], f=WINDOW))["statistics"]
    assert [g["stats"]["clientMessages"] for g in data["byOperator"]] == [4, 2]
    assert data["totals"]["operatorMessages"] == 4


async def test_only_the_breakdowns_asked_for_are_computed(world, count_queries):
    """Each breakdown is a branch of the one statement: a breakdown the query does not select is
    not computed (no label join, no hour branch), and what it selects is what a query of everything
    gets."""
    everything = ("query($f: StatisticsFilter!) { statistics(filter: $f) { totals { conversations missed } "
                  "byDay { day stats { conversations } } byHour { hour stats { conversations } } "
                  "byLabel { stats { conversations } } byPriority { priority stats { conversations } } } }")
    full = (await execute(everything, world["admin"], f=WINDOW))["statistics"]
    with count_queries() as counter:
        some = (await execute("query($f: StatisticsFilter!) { statistics(filter: $f) { totals { conversations missed } "
                              "...D } } fragment D on Statistics { byDay { day stats { conversations } } }",
                              world["admin"], f=WINDOW))["statistics"]
    assert some == {"totals": full["totals"], "byDay": full["byDay"]}
    statement = " ".join(s for s in counter.statements if s != "SET LOCAL jit = off")
    assert "chat_label cl" not in statement and "c.hr" not in statement and "c.d" in statement
