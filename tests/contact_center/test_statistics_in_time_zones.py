"""Reports: statistics in a time zone (byDay, byHour), queue wait, p90 first response, handle time,
transfers, by label and by priority, against a fixture computed by hand (both backends).

The conversations are driven through the services with the injected clock; each step's events are
then dated at the clock's time (the event log is what queue waits and transfers are read from),
and each chat's own timestamps are set exactly. Europe/Madrid changes to summer time inside the
window (2030-03-31 01:00 UTC): c2 falls before the change and c3 after it.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from models import Chat, ChatPriority, Event, QueueDistribution
from openchannels.app import create_app
from resolvers.ids import to_global_id
from services.chats import chats, labels, priorities
from services.identity import auth
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute, execute_raw

UTC = timezone.utc
FROM, TO = datetime(2030, 3, 30, tzinfo=UTC), datetime(2030, 4, 1, tzinfo=UTC)
WINDOW = {"from": FROM.isoformat(), "to": TO.isoformat()}

STATS = """query($filter: StatisticsFilter!) { statistics(filter: $filter) {
  totals { ...S }
  byDay { day stats { conversations } }
  byHour { hour stats { conversations } }
  byLabel { label { name } stats { ...S } }
  byPriority { priority stats { conversations } }
} }
fragment S on ConversationStats {
  conversations queued active closed averageFirstResponseSeconds medianFirstResponseSeconds
  p90FirstResponseSeconds averageQueueWaitSeconds medianQueueWaitSeconds averageHandleSeconds
  averageResolutionSeconds transfers
}"""


def figures(conversations, queued=0, active=0, closed=0, avg_first=None, median_first=None, p90_first=None,
            avg_wait=None, median_wait=None, avg_handle=None, avg_resolution=None, transfers=0) -> dict:
    return {"conversations": conversations, "queued": queued, "active": active, "closed": closed,
            "averageFirstResponseSeconds": avg_first, "medianFirstResponseSeconds": median_first,
            "p90FirstResponseSeconds": p90_first, "averageQueueWaitSeconds": avg_wait,
            "medianQueueWaitSeconds": median_wait, "averageHandleSeconds": avg_handle,
            "averageResolutionSeconds": avg_resolution, "transfers": transfers}


class Story:
    """Runs each step of one conversation at `created + seconds` on the injected clock, and dates
    the events that step wrote at that moment."""

    def __init__(self, clock, created: datetime) -> None:
        self.clock, self.created = clock, created

    async def at(self, seconds: float, step):
        newest = await Event.all().order_by("-id").first()
        result = await step
        moment = self.created + timedelta(seconds=seconds)
        await Event.filter(id__gt=newest.id if newest else 0).update(created_at=moment)
        self.clock.advance(1)
        return result


async def _conversation(clock, channel, *, created: datetime, steps, first_response: float | None = None,
                        closed_after: float | None = None, labelled=(), priority=None, admin=None) -> Chat:
    story = Story(clock, created)
    chat = (await story.at(0, start_chat(channel, "hello")))[0]
    if labelled:
        await story.at(0, labels.set_chat_labels(admin, chat_id=chat.id, label_ids=[label.id for label in labelled]))
    if priority is not None:
        await story.at(0, priorities.set_chat_priority(admin, chat_id=chat.id, priority=priority))
    for seconds, action in steps:
        await story.at(seconds, action(chat.id))
    await Chat.filter(id=chat.id).update(
        created_at=created,
        first_response_at=created + timedelta(seconds=first_response) if first_response is not None else None,
        closed_at=created + timedelta(seconds=closed_after) if closed_after is not None else None)
    return chat


@pytest.fixture
async def world(db, clock):
    ann, ann_v = await make_operator("Ann")
    bob, bob_v = await make_operator("Bob")
    _, admin = await make_admin()
    a = await make_open_channel([ann], distribution=QueueDistribution.STRICT, name="A")
    b = await make_open_channel([bob], distribution=QueueDistribution.STRICT, name="B")
    billing = await labels.create_label(admin, name="billing", color="#112233")
    vip = await labels.create_label(admin, name="vip", color="#445566")
    answer = lambda viewer: lambda chat_id: chats.answer_chat(viewer, chat_id=chat_id)  # noqa: E731
    finish = lambda viewer: lambda chat_id: chats.finish_chat(viewer, chat_id=chat_id)  # noqa: E731
    to_b = lambda chat_id: chats.transfer_chat(ann_v, chat_id=chat_id, open_channel_id=b.id)  # noqa: E731
    # c1: waits 120 s, first response 150 s, closed at 1050 s (handle 930 s), HIGH, billing
    await _conversation(clock, a, created=datetime(2030, 3, 30, 5, 30, tzinfo=UTC),
                        steps=[(120, answer(ann_v)), (1050, finish(ann_v))], first_response=150, closed_after=1050,
                        labelled=[billing], priority=ChatPriority.HIGH, admin=admin)
    # c2: waits 60 s, first response 90 s, still active, billing and vip
    await _conversation(clock, a, created=datetime(2030, 3, 30, 23, 30, tzinfo=UTC),
                        steps=[(60, answer(ann_v))], first_response=90, labelled=[billing, vip], admin=admin)
    # c3: waits 30 s, Ann transfers it to B at 300 s, waits 100 s more, Bob closes it at 1000 s
    # (handle from the first answer: 970 s), first response 40 s, vip
    await _conversation(clock, a, created=datetime(2030, 3, 31, 1, 30, tzinfo=UTC),
                        steps=[(30, answer(ann_v)), (300, to_b), (400, answer(bob_v)), (1000, finish(bob_v))],
                        first_response=40, closed_after=1000, labelled=[vip], admin=admin)
    # c4: queued, never answered, URGENT
    await _conversation(clock, b, created=datetime(2030, 3, 31, 22, 30, tzinfo=UTC), steps=[],
                        priority=ChatPriority.URGENT, admin=admin)
    # outside the window: answered after 10 s
    await _conversation(clock, a, created=FROM - timedelta(minutes=30), steps=[(10, answer(ann_v))], admin=admin)
    return {"admin": admin, "ann": ann_v, "billing": billing, "vip": vip, "a": a}


TOTALS = figures(4, queued=1, active=1, closed=2, avg_first=93.333, median_first=90.0, p90_first=150.0,
                 avg_wait=77.5, median_wait=80.0, avg_handle=950.0, avg_resolution=1025.0, transfers=1)


def _days(data) -> dict[str, int]:
    return {d["day"]: d["stats"]["conversations"] for d in data["byDay"]}


def _hours(data) -> list[tuple[int, int]]:
    return [(h["hour"], h["stats"]["conversations"]) for h in data["byHour"]]


async def test_the_figures_and_utc_buckets_by_default(world):
    data = (await execute(STATS, world["admin"], filter=WINDOW))["statistics"]
    assert data["totals"] == TOTALS
    assert _days(data) == {"2030-03-30": 2, "2030-03-31": 2}
    assert _hours(data) == [(1, 1), (5, 1), (22, 1), (23, 1)]


async def test_days_and_hours_in_mexico_city(world):
    data = (await execute(STATS, world["admin"], filter={**WINDOW, "timeZone": "America/Mexico_City"}))["statistics"]
    assert data["totals"] == TOTALS  # the zone moves buckets, never the figures
    # UTC-6: c1 is 23:30 the day before, c2 17:30, c3 19:30, c4 16:30
    assert _days(data) == {"2030-03-29": 1, "2030-03-30": 2, "2030-03-31": 1}
    assert _hours(data) == [(16, 1), (17, 1), (19, 1), (23, 1)]


async def test_days_and_hours_in_madrid_across_the_summer_time_change(world):
    data = (await execute(STATS, world["admin"], filter={**WINDOW, "timeZone": "Europe/Madrid"}))["statistics"]
    # UTC+1 until 2030-03-31 01:00 UTC, UTC+2 after: c1 06:30, c2 00:30 (+1), c3 03:30 (+2), c4 00:30 next day
    assert _days(data) == {"2030-03-30": 1, "2030-03-31": 2, "2030-04-01": 1}
    assert _hours(data) == [(0, 2), (3, 1), (6, 1)]


async def test_by_label_and_by_priority(world):
    data = (await execute(STATS, world["admin"], filter=WINDOW))["statistics"]
    assert data["byLabel"] == [
        {"label": {"name": "billing"}, "stats": figures(2, active=1, closed=1, avg_first=120.0, median_first=120.0,
                                                         p90_first=150.0, avg_wait=90.0, median_wait=90.0,
                                                         avg_handle=930.0, avg_resolution=1050.0)},
        {"label": {"name": "vip"}, "stats": figures(2, active=1, closed=1, avg_first=65.0, median_first=65.0,
                                                     p90_first=90.0, avg_wait=63.333, median_wait=60.0,
                                                     avg_handle=970.0, avg_resolution=1000.0, transfers=1)},
    ]
    assert [(p["priority"], p["stats"]["conversations"]) for p in data["byPriority"]] == [
        ("NORMAL", 2), ("HIGH", 1), ("URGENT", 1)]


async def test_label_and_priority_filters_narrow_every_figure(world):
    billing = {**WINDOW, "labelIds": [to_global_id("Label", world["billing"].id)]}
    data = (await execute(STATS, world["admin"], filter=billing))["statistics"]
    assert data["totals"]["conversations"] == 2 and data["totals"]["averageQueueWaitSeconds"] == 90.0
    urgent = {**WINDOW, "priorities": ["URGENT", "LOW"]}
    data = (await execute(STATS, world["admin"], filter=urgent))["statistics"]
    assert data["totals"] == figures(1, queued=1)
    assert [p["priority"] for p in data["byPriority"]] == ["URGENT"]


async def test_an_operator_gets_only_their_own_numbers_in_any_zone(world):
    data = (await execute(STATS, world["ann"], filter={**WINDOW, "timeZone": "Europe/Madrid"}))["statistics"]
    # Ann is responsible for c1 and c2 only (c3 went to Bob)
    assert data["totals"]["conversations"] == 2 and data["totals"]["transfers"] == 0
    assert _hours(data) == [(0, 1), (6, 1)]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "+02:00", "", "../etc/passwd", " Europe/Madrid"])
async def test_an_unknown_time_zone_is_refused_clearly(world, zone):
    result = await execute_raw(STATS, world["admin"], filter={**WINDOW, "timeZone": zone})
    error = result.errors[0]
    assert error.extensions["code"] == "INVALID_INPUT"
    assert "IANA" in error.message


async def test_the_statistics_csv_carries_the_new_figures_and_filters(world, platform):
    admin_token = await auth.issue_token(world["admin"].operator_id)
    app = create_app(platform=platform)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as client:
        response = await client.get("/exports/statistics.csv", headers={"Authorization": f"Bearer {admin_token}"},
                                    params={**WINDOW, "timeZone": "Europe/Madrid", "priorities": "NORMAL,HIGH"})
        refused = await client.get("/exports/statistics.csv", headers={"Authorization": f"Bearer {admin_token}"},
                                   params={**WINDOW, "timeZone": "Nowhere/Else"})
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    total = rows[0]
    assert (total["group"], total["conversations"], total["transfers"], total["average_queue_wait_seconds"],
            total["median_queue_wait_seconds"], total["p90_first_response_seconds"],
            total["average_handle_seconds"]) == ("total", "3", "1", "77.5", "80.0", "150.0", "950.0")
    assert [(r["key"], r["conversations"]) for r in rows if r["group"] == "hour"] == [("0", "1"), ("3", "1"), ("6", "1")]
    assert [(r["key"], r["conversations"]) for r in rows if r["group"] == "priority"] == [("NORMAL", "2"), ("HIGH", "1")]
    assert [(r["key"], r["conversations"]) for r in rows if r["group"] == "label"] == [
        (to_global_id("Label", world["billing"].id), "2"), (to_global_id("Label", world["vip"].id), "2")]
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_INPUT"


async def test_the_event_log_is_read_only_when_its_figures_are_asked_for(world, count_queries):
    """Queue waits, handle time and transfers come from the event log: a query that shows none of
    them does not read it, and its other figures are the same; one asking inside a fragment gets them."""
    plain = ("query($f: StatisticsFilter!) { statistics(filter: $f) { totals { conversations "
             "p90FirstResponseSeconds averageResolutionSeconds } } }")
    with count_queries() as counter:
        data = (await execute(plain, world["admin"], f=WINDOW))["statistics"]
    assert data["totals"] == {"conversations": 4, "p90FirstResponseSeconds": 150.0, "averageResolutionSeconds": 1025.0}
    # on PostgreSQL a `SET LOCAL jit = off` goes first (services/contact_center/statistics.py)
    statements = [s for s in counter.statements if s != "SET LOCAL jit = off"]
    assert len(statements) == 1 and "JOIN event" not in str(statements[0]).replace("\n", " ").replace("  ", " ")
    fragment = ("query($f: StatisticsFilter!) { statistics(filter: $f) { byLabel { stats { ... on ConversationStats "
                "{ transfers } } } totals { ...W } } } fragment W on ConversationStats { averageHandleSeconds "
                "medianQueueWaitSeconds }")
    data = (await execute(fragment, world["admin"], f=WINDOW))["statistics"]
    assert [g["stats"]["transfers"] for g in data["byLabel"]] == [0, 1]
    assert data["totals"] == {"averageHandleSeconds": 950.0, "medianQueueWaitSeconds": 80.0}
