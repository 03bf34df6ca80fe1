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
- unanswered: conversations whose channel's no-answer rule fired (services/chats/no_answer.py:
  nobody answered them within the channel's noAnswerTimeoutSeconds), whatever the rule did.
- slaBreached: conversations that missed at least one service-level target (services/chats/sla.py).
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

from services.common.errors import InvalidInput
from services.identity.viewer import Viewer, require_operator
from services.policies import statistics as statistics_policy

#: the figures of one group, in the order the SELECT returns them
FIGURES = ["conversations", "queued", "active", "closed", "spam", "missed", "average_first_response_seconds",
           "median_first_response_seconds", "average_resolution_seconds", "likes", "dislikes", "client_messages",
           "operator_messages", "unanswered", "sla_breached"]


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
    unanswered: int = 0
    sla_breached: int = 0


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

    def duration(self, later: str, earlier: str) -> str:
        """The same as `seconds` for ordering, cheaper to sort on PostgreSQL (an interval, not a numeric)."""
        return f"({later} - {earlier})" if self.postgres else self.seconds(later, earlier)

    def day(self, column: str) -> str:
        if self.postgres:
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"strftime('%Y-%m-%d', {column})"


#: the groupings, all in one statement: (number, integer key, text key), columns of `c`
GROUPINGS = [(0, "zero", "blank"), (1, "op", "blank"), (2, "oc", "blank"), (3, "zero", "d")]


def _window(sql: _Sql, f: StatisticsFilter, ch: str) -> str:
    """The WHERE of the window's conversations, over the chat row `ch`."""
    where = [f"{ch}.kind = 'CUSTOMER'", f"{ch}.created_at >= {sql.param(f.created_from)}",
             f"{ch}.created_at < {sql.param(f.created_to)}"]
    if f.open_channel_ids is not None:
        where.append(f"{ch}.open_channel_id IN ({', '.join(sql.param(i) for i in f.open_channel_ids) or 'NULL'})")
    if f.operator_ids is not None:
        where.append(f"{ch}.operator_id IN ({', '.join(sql.param(i) for i in f.operator_ids) or 'NULL'})")
    return " AND ".join(where)


def _query(sql: _Sql, f: StatisticsFilter, message_counts: bool = True) -> str:
    """One SELECT of every figure for the totals (group 0) and per operator (1), open channel (2) and
    day (3): `c` is one row per conversation with its own figures, `keyed` repeats it once per
    grouping it belongs to, the median is the middle of the ROW_NUMBER over each group's first
    responses.

    The chat filter is written out (not a CTE) where the message counts are joined, so that the
    planner estimates that join from real statistics: over a CTE it guesses millions of rows and
    PostgreSQL then spends most of the time JIT-compiling the statement."""
    first_response = sql.seconds("ch.first_response_at", "ch.created_at")
    resolution = sql.seconds("ch.closed_at", "ch.created_at")
    agg = _union(f"""SELECT {{g}} AS g, {{ki}} AS ki, {{kd}} AS kd,
    COUNT(*) AS conversations,
    SUM(CASE WHEN status = 'QUEUED' THEN 1 ELSE 0 END) AS queued,
    SUM(CASE WHEN status = 'ACTIVE' THEN 1 ELSE 0 END) AS active,
    SUM(CASE WHEN status = 'CLOSED' THEN 1 ELSE 0 END) AS closed,
    SUM(CASE WHEN status = 'SPAM' THEN 1 ELSE 0 END) AS spam,
    SUM(CASE WHEN status = 'CLOSED' AND frs IS NULL THEN 1 ELSE 0 END) AS missed,
    AVG(frs) AS average_first_response, AVG(res) AS average_resolution,
    SUM(likes) AS likes, SUM(dislikes) AS dislikes, SUM(cmsg) AS cmsg, SUM(omsg) AS omsg,
    SUM(una) AS unanswered, SUM(slab) AS sla_breached
  FROM c WHERE {{ki}} IS NOT NULL AND {{kd}} IS NOT NULL GROUP BY {{ki}}, {{kd}}""")
    ranked = _union("""SELECT {g} AS g, {ki} AS ki, {kd} AS kd, frs,
    ROW_NUMBER() OVER (PARTITION BY {ki}, {kd} ORDER BY frk) AS rn, COUNT(*) OVER (PARTITION BY {ki}, {kd}) AS n
  FROM c WHERE frs IS NOT NULL AND {ki} IS NOT NULL AND {kd} IS NOT NULL""")
    return f"""
WITH c AS (
  SELECT ch.status, 0 AS zero, '' AS blank, ch.operator_id AS op, ch.open_channel_id AS oc,
         {sql.day("ch.created_at")} AS d,
         CASE WHEN ch.first_response_at IS NOT NULL THEN {first_response} END AS frs,
         {sql.duration("ch.first_response_at", "ch.created_at")} AS frk,
         CASE WHEN ch.status = 'CLOSED' AND ch.closed_at IS NOT NULL THEN {resolution} END AS res,
         CASE WHEN cr.vote = 'LIKE' THEN 1 ELSE 0 END AS likes,
         CASE WHEN cr.vote = 'DISLIKE' THEN 1 ELSE 0 END AS dislikes,
         {'COALESCE(m.client_messages, 0)' if message_counts else '0'} AS cmsg,
         {'COALESCE(m.operator_messages, 0)' if message_counts else '0'} AS omsg,
         CASE WHEN ch.no_answer_at IS NOT NULL THEN 1 ELSE 0 END AS una,
         CASE WHEN sla.breached THEN 1 ELSE 0 END AS slab
  FROM chat ch
  LEFT JOIN chat_rating cr ON cr.chat_id = ch.id
  LEFT JOIN chat_sla sla ON sla.chat_id = ch.id
{_message_counts(sql, f) if message_counts else ''}
  WHERE {_window(sql, f, "ch")}
),
agg AS (
{agg}
),
ranked AS (
{ranked}
),
med AS (SELECT g, ki, kd, AVG(frs) AS median FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY g, ki, kd)
SELECT agg.g, agg.ki, agg.kd, conversations, queued, active, closed, spam, missed, average_first_response,
       med.median, average_resolution, likes, dislikes, cmsg, omsg, unanswered, sla_breached
FROM agg LEFT JOIN med ON med.g = agg.g AND med.ki = agg.ki AND med.kd = agg.kd
ORDER BY agg.g, agg.ki, agg.kd"""


def _message_counts(sql: _Sql, f: StatisticsFilter) -> str:
    """The join of each conversation's client and operator message counts (the costly part: every
    message of the window)."""
    return f"""LEFT JOIN (
    SELECT msg.chat_id,
           SUM(CASE WHEN msg.author_kind = 'CLIENT' THEN 1 ELSE 0 END) AS client_messages,
           SUM(CASE WHEN msg.author_kind = 'OPERATOR' AND NOT msg.silent THEN 1 ELSE 0 END) AS operator_messages
    FROM chat mch JOIN message msg ON msg.chat_id = mch.id
    WHERE {_window(sql, f, "mch")} AND NOT msg.deleted GROUP BY msg.chat_id
  ) m ON m.chat_id = ch.id"""


def _union(template: str) -> str:
    """The template once per grouping, as a UNION ALL."""
    return "\n  UNION ALL\n".join("  " + template.format(g=g, ki=ki, kd=kd) for g, ki, kd in GROUPINGS)


def _stats(row: list[Any]) -> ConversationStats:
    values = dict(zip(FIGURES, row))
    for name in FIGURES:
        value = values[name]
        if name.endswith("_seconds"):
            values[name] = round(float(value), 3) if value is not None else None
        else:
            values[name] = int(value or 0)
    return ConversationStats(**values)


async def _rows(f: StatisticsFilter, message_counts: bool) -> list[tuple[Any, ...]]:
    connection = connections.get("default")
    sql = _Sql(connection.capabilities.dialect)
    text = _query(sql, f, message_counts)
    _, rows = await connection.execute_query(text, sql.params)
    return [tuple(r.values()) if hasattr(r, "values") else tuple(r) for r in rows]


async def statistics(viewer: Viewer, *, filter: StatisticsFilter, message_counts: bool = True) -> Statistics:
    """Totals and the three breakdowns: one grouped statement (rows tagged by grouping).
    `message_counts=False` leaves clientMessages and operatorMessages at 0 without reading any
    message, for callers that do not show them."""
    require_operator(viewer)
    if filter.created_from >= filter.created_to:
        raise InvalidInput("`from` must be before `to`.", field=["filter", "from"])
    # an operator: only the conversations they are responsible for (services/policies/statistics.py)
    filter = StatisticsFilter(filter.created_from, filter.created_to, filter.open_channel_ids,
                              statistics_policy.counted_operator_ids(viewer, filter.operator_ids))
    groups: dict[int, list[tuple[Any, ConversationStats]]] = {0: [], 1: [], 2: [], 3: []}
    for g, ki, kd, *figures in await _rows(filter, message_counts):
        groups[g].append((kd if g == 3 else ki, _stats(figures)))
    return Statistics(
        totals=groups[0][0][1] if groups[0] else ConversationStats(),
        by_operator=groups[1],
        by_open_channel=groups[2],
        by_day=groups[3],
    )
