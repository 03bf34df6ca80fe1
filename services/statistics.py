"""Contact-center statistics, computed by the database (aggregates and GROUP BY, no rows loaded).

Definitions (the same words are in the schema's descriptions and the README):

- the window: customer conversations CREATED in [from, to), narrowed to the given open channels
  and responsible operators. Every figure below is about those conversations.
- conversations: how many. queued / active / closed / spam: how many are in that status now.
- missed: CLOSED without any visible operator reply (no first response).
- first response: the first visible (not silent) operator message minus the chat's creation,
  over the conversations that have one. Average and median (the middle value, or the mean of
  the two middle values), in seconds.
- resolution: closing minus creation, over CLOSED conversations (spam is not a resolution).
- likes / dislikes: the clients' ratings of these conversations.
- clientMessages / operatorMessages: messages written by the client / by operators (silent
  notes and deleted messages are not counted).
- byOperator: grouped by the responsible operator (conversations with none are only in the
  totals), byOpenChannel: by the conversation's open channel, byDay: by the UTC calendar day
  of creation. Groups with no conversation are left out.

Supervisors and admins see every channel; an operator sees only their own numbers (the
conversations they are responsible for), whatever the filter asks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tortoise import connections

from services.errors import InvalidInput
from services.viewer import Viewer, require_operator

#: the figures of one group, in the order the SELECT returns them
FIGURES = ["conversations", "queued", "active", "closed", "spam", "missed", "average_first_response_seconds",
           "median_first_response_seconds", "average_resolution_seconds", "likes", "dislikes", "client_messages",
           "operator_messages"]


@dataclass(frozen=True)
class StatisticsFilter:
    created_from: datetime
    created_to: datetime
    open_channel_ids: list[int] | None = None
    operator_ids: list[int] | None = None


@dataclass(frozen=True)
class ConversationStats:
    conversations: int = 0
    queued: int = 0
    active: int = 0
    closed: int = 0
    spam: int = 0
    missed: int = 0
    average_first_response_seconds: float | None = None
    median_first_response_seconds: float | None = None
    average_resolution_seconds: float | None = None
    likes: int = 0
    dislikes: int = 0
    client_messages: int = 0
    operator_messages: int = 0


@dataclass(frozen=True)
class Statistics:
    totals: ConversationStats
    by_operator: list[tuple[int, ConversationStats]]
    by_open_channel: list[tuple[int, ConversationStats]]
    by_day: list[tuple[str, ConversationStats]]


class _Sql:
    """Dialect differences: placeholders, seconds between two timestamps, the UTC day, ratings."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgres"
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        if isinstance(value, datetime) and not self.postgres:
            value = value.astimezone(timezone.utc).isoformat(" ")  # the form SQLite stores
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def seconds(self, later: str, earlier: str) -> str:
        if self.postgres:
            return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"

    def day(self, column: str) -> str:
        if self.postgres:
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"strftime('%Y-%m-%d', {column})"


def _query(sql: _Sql, f: StatisticsFilter, key: str) -> str:
    """One SELECT of every figure per value of `key` (an expression over the chat row `ch`)."""
    where = ["ch.kind = 'CUSTOMER'", f"ch.created_at >= {sql.param(f.created_from)}",
             f"ch.created_at < {sql.param(f.created_to)}"]
    if f.open_channel_ids is not None:
        where.append(f"ch.open_channel_id IN ({', '.join(sql.param(i) for i in f.open_channel_ids) or 'NULL'})")
    if f.operator_ids is not None:
        where.append(f"ch.operator_id IN ({', '.join(sql.param(i) for i in f.operator_ids) or 'NULL'})")
    where.append(f"{key} IS NOT NULL")
    first_response = sql.seconds("ch.first_response_at", "ch.created_at")
    resolution = sql.seconds("ch.closed_at", "ch.created_at")
    ratings = _ratings_sql()
    return f"""
WITH c AS (
  SELECT ch.id, ch.status, {key} AS k,
         CASE WHEN ch.first_response_at IS NOT NULL THEN {first_response} END AS frs,
         CASE WHEN ch.status = 'CLOSED' AND ch.closed_at IS NOT NULL THEN {resolution} END AS res
  FROM chat ch WHERE {' AND '.join(where)}
),
m AS (
  SELECT msg.chat_id,
         SUM(CASE WHEN msg.author_kind = 'CLIENT' THEN 1 ELSE 0 END) AS client_messages,
         SUM(CASE WHEN msg.author_kind = 'OPERATOR' AND NOT msg.silent THEN 1 ELSE 0 END) AS operator_messages
  FROM message msg WHERE msg.chat_id IN (SELECT id FROM c) AND NOT msg.deleted GROUP BY msg.chat_id
),
r AS ({ratings}),
ranked AS (
  SELECT k, frs, ROW_NUMBER() OVER (PARTITION BY k ORDER BY frs) AS rn, COUNT(*) OVER (PARTITION BY k) AS n
  FROM c WHERE frs IS NOT NULL
),
med AS (SELECT k, AVG(frs) AS median FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY k)
SELECT c.k,
  COUNT(*),
  SUM(CASE WHEN c.status = 'QUEUED' THEN 1 ELSE 0 END),
  SUM(CASE WHEN c.status = 'ACTIVE' THEN 1 ELSE 0 END),
  SUM(CASE WHEN c.status = 'CLOSED' THEN 1 ELSE 0 END),
  SUM(CASE WHEN c.status = 'SPAM' THEN 1 ELSE 0 END),
  SUM(CASE WHEN c.status = 'CLOSED' AND c.frs IS NULL THEN 1 ELSE 0 END),
  AVG(c.frs),
  MAX(med.median),
  AVG(c.res),
  SUM(COALESCE(r.likes, 0)),
  SUM(COALESCE(r.dislikes, 0)),
  SUM(COALESCE(m.client_messages, 0)),
  SUM(COALESCE(m.operator_messages, 0))
FROM c
LEFT JOIN m ON m.chat_id = c.id
LEFT JOIN r ON r.chat_id = c.id
LEFT JOIN med ON med.k = c.k
GROUP BY c.k
ORDER BY c.k"""


def _ratings_sql() -> str:
    """Likes and dislikes per chat of the window, from the clients' ratings (`chat_rating`, one
    per chat, `vote` null until the client answers)."""
    return ("SELECT cr.chat_id, SUM(CASE WHEN cr.vote = 'LIKE' THEN 1 ELSE 0 END) AS likes, "
            "SUM(CASE WHEN cr.vote = 'DISLIKE' THEN 1 ELSE 0 END) AS dislikes "
            "FROM chat_rating cr WHERE cr.chat_id IN (SELECT id FROM c) GROUP BY cr.chat_id")


def _stats(row: list[Any]) -> ConversationStats:
    values = dict(zip(FIGURES, row))
    for name in FIGURES:
        value = values[name]
        if name.endswith("_seconds"):
            values[name] = round(float(value), 3) if value is not None else None
        else:
            values[name] = int(value or 0)
    return ConversationStats(**values)


async def _grouped(f: StatisticsFilter, key: str) -> list[tuple[Any, ConversationStats]]:
    connection = connections.get("default")
    sql = _Sql(connection.capabilities.dialect)
    text = _query(sql, f, key)
    _, rows = await connection.execute_query(text, sql.params)
    return [(row[0], _stats(list(row)[1:])) for row in (tuple(r.values()) if hasattr(r, "values") else tuple(r)
                                                        for r in rows)]


async def statistics(viewer: Viewer, *, filter: StatisticsFilter) -> Statistics:
    """Totals and the three breakdowns: four grouped statements."""
    me = require_operator(viewer)
    if filter.created_from >= filter.created_to:
        raise InvalidInput("`from` must be before `to`.", field=["filter", "from"])
    if not viewer.is_supervisor:  # an operator: only the conversations they are responsible for
        asked = filter.operator_ids
        filter = StatisticsFilter(filter.created_from, filter.created_to, filter.open_channel_ids,
                                  [me] if asked is None or me in asked else [])
    totals = await _grouped(filter, "0")
    by_day_sql = _Sql(connections.get("default").capabilities.dialect).day("ch.created_at")
    return Statistics(
        totals=totals[0][1] if totals else ConversationStats(),
        by_operator=await _grouped(filter, "ch.operator_id"),
        by_open_channel=await _grouped(filter, "ch.open_channel_id"),
        by_day=await _grouped(filter, by_day_sql),
    )
