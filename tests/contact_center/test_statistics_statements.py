"""PostgreSQL's statistics statement (grouping sets, ordered-set aggregates for the medians and the
p90) gives exactly the rows of the portable one (a branch per grouping, ROW_NUMBER for the ranks)
that SQLite runs, over a few hundred conversations whose groups have odd and even sizes, values
that tie, no first response, queue waits over transfers, labels and a time zone that changes offset."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from tortoise import connections

from models import Label
from services.contact_center import statistics
from tests.factories import make_open_channel, make_operator

pytestmark = pytest.mark.postgres_only

T = datetime(2030, 3, 25, tzinfo=timezone.utc)  # Europe/Madrid leaves +01:00 for +02:00 on 2030-03-31

CHATS = """
WITH n AS (
  SELECT n, $1::timestamptz + (n * 3517 % 864000) * interval '1 second' + (n % 3) * interval '1 microsecond' AS created
  FROM generate_series(1, 400) n
)
INSERT INTO chat (kind, title, status, pinned, priority, open_channel_id, operator_id, created_at,
                  first_response_at, closed_at, answered_at, no_answer_at)
SELECT 'CUSTOMER', 'c' || n, (ARRAY['QUEUED', 'ACTIVE', 'CLOSED', 'CLOSED', 'SPAM'])[1 + n % 5], false,
       (ARRAY['LOW', 'NORMAL', 'HIGH', 'URGENT'])[1 + n % 4], ($2::int[])[1 + n % 3],
       CASE WHEN n % 7 = 0 THEN NULL ELSE ($3::int[])[1 + n % 4] END, created,
       CASE WHEN n % 4 <> 3 THEN created + (n * 7919 % 50) * interval '1 second'
                                         + (n % 2) * interval '500 microseconds' END,
       CASE WHEN n % 5 IN (2, 3) AND n % 11 <> 0 THEN created + (600 + n * 31 % 900) * interval '1 second' END,
       CASE WHEN n % 6 = 0 THEN created + interval '20 seconds' END,
       CASE WHEN n % 9 = 0 THEN created + interval '90 seconds' END
FROM n ORDER BY n"""
#: a rating for a quarter of them (liked, disliked or asked), one or two labels for two thirds
RATINGS = """INSERT INTO chat_rating (chat_id, requested_at, vote)
SELECT id, created_at, CASE WHEN id % 3 = 0 THEN 'LIKE' WHEN id % 3 = 1 THEN 'DISLIKE' END FROM chat WHERE id % 4 = 0"""
LABELS = """INSERT INTO chat_label (chat_id, label_id)
SELECT id, ($1::int[])[1 + id % 2] FROM chat WHERE id % 3 <> 0
UNION ALL SELECT id, ($1::int[])[1] FROM chat WHERE id % 10 = 1"""

#: queued at creation, answered (a wait of 0-39 s), for some transferred at 100 s and answered again
EVENTS = """
INSERT INTO event (kind, chat_id, operator_ids, visitor_visible, created_at)
SELECT kind, id, '[]', true, at FROM (
  SELECT c.id, s.step, s.kind, c.created_at + s.after * interval '1 second' AS at
  FROM chat c CROSS JOIN LATERAL (VALUES
    (1, 'CHAT_QUEUED', 0), (2, 'CHAT_ANSWERED', c.id * 13 % 40),
    (3, CASE WHEN c.id % 5 = 0 THEN 'CHAT_TRANSFERRED' END, 100),
    (4, CASE WHEN c.id % 5 = 0 AND c.id % 10 <> 5 THEN 'CHAT_ANSWERED' END, 100 + c.id % 9)) s (step, kind, after)
  WHERE c.id % 3 <> 0 AND s.kind IS NOT NULL
) e ORDER BY id, step
"""


@pytest.fixture
async def seeded(db):
    operators = [(await make_operator(f"Op {i}"))[0] for i in range(4)]
    channels = [await make_open_channel(operators, name=f"Channel {i}") for i in range(3)]
    labels = [await Label.create(name=f"Label {i}", color="#000000") for i in range(2)]
    connection = connections.get("default")
    await connection.execute_query(CHATS, [T, [c.id for c in channels], [o.id for o in operators]])
    await connection.execute_query(RATINGS)
    await connection.execute_query(LABELS, [[label.id for label in labels]])
    await connection.execute_query(EVENTS)
    return operators


async def _both(f: statistics.StatisticsFilter, message_counts: bool, event_figures: bool,
                groupings: frozenset[int] | None) -> tuple[list, list]:
    connection = connections.get("default")
    found = []
    for build in (statistics._ranked_query, statistics._grouping_sets_query):
        sql = statistics._Sql("postgres", f.time_zone, f.created_from, f.created_to)
        text = build(sql, f, message_counts, event_figures, groupings)
        _, rows = await connection.execute_query(text, sql.params)
        found.append([tuple(row.values()) for row in rows])
    return found[0], found[1]


@pytest.mark.parametrize("message_counts, event_figures, groupings", [
    (True, True, None), (False, False, frozenset({statistics.BY_OPERATOR, statistics.BY_DAY})),
    (False, True, frozenset({statistics.BY_LABEL, statistics.BY_PRIORITY})), (True, False, frozenset()),
])
async def test_postgresqls_statement_gives_the_portable_ones_rows(seeded, message_counts, event_figures, groupings):
    filters = [statistics.StatisticsFilter(created_from=T, created_to=T + timedelta(days=10)),
               statistics.StatisticsFilter(created_from=T + timedelta(hours=5), created_to=T + timedelta(days=8),
                                           time_zone="Europe/Madrid"),
               statistics.StatisticsFilter(created_from=T, created_to=T + timedelta(days=10),
                                           operator_ids=[seeded[1].id, seeded[2].id]),
               statistics.StatisticsFilter(created_from=T - timedelta(days=2), created_to=T)]  # empty
    for f in filters:
        portable, grouped = await _both(f, message_counts, event_figures, groupings)
        assert grouped == portable, f
    full, _ = await _both(filters[0], message_counts, event_figures, groupings)
    groups = {row[0] for row in full}
    assert groups == {0} | set(groupings if groupings is not None else range(7))
    # queue waits read where asked for; with every grouping, medians that are a mean of two values
    assert groupings is not None or any(row[10] is not None and row[10] != round(row[10]) for row in full)
    assert any(row[19] is not None for row in full) == event_figures
