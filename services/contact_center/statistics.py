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
- p90 first response: the 90th percentile of the same first responses, nearest rank: the value
  at rank ceil(0.9 n) of the n first responses in ascending order.
- queue wait: each stretch a conversation waited in a queue until an operator took it, read
  from the event log: from its first CHAT_QUEUED or CHAT_TRANSFERRED event after the previous
  answer (its creation, a transfer, a no-answer move) to the CHAT_ANSWERED (or
  CHAT_INTERCEPTED) event that ended it. A conversation answered, transferred and answered
  again waited twice; one never answered has no wait. Average and median over those waits.
- handle: closing minus the first answer (the event log's, else the chat's `answered_at`: a
  conversation an operator started), over CLOSED conversations that were answered.
- transfers: CHAT_TRANSFERRED events of these conversations (to an operator or a channel).
- byOperator: grouped by the responsible operator (conversations with none are only in the
  totals), byOpenChannel: by the conversation's open channel, byDay / byHour: by the calendar
  day / hour (0-23) of creation in the filter's time zone (an IANA name, UTC by default),
  byLabel: by each label the conversation has now (a conversation with two labels is in both
  groups), byPriority: by its priority now. Groups with no conversation are left out.

Time zones: PostgreSQL converts with `AT TIME ZONE`; SQLite has no time zone data, so the
zone's UTC offsets over the window (and the instants they change, from Python's zoneinfo) are
written into the statement as a CASE over the creation time: both backends bucket in SQL.

Supervisors and admins see every channel; an operator sees only their own numbers (the
conversations they are responsible for), whatever the filter asks.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import ChatPriority
from services.common.errors import InvalidInput
from services.common.transactions import default_connection, transaction
from services.identity.viewer import Viewer, require_operator
from services.policies import statistics as statistics_policy

#: the figures of one group, in the order the SELECT returns them
FIGURES = ["conversations", "queued", "active", "closed", "spam", "missed", "average_first_response_seconds",
           "median_first_response_seconds", "average_resolution_seconds", "likes", "dislikes", "client_messages",
           "operator_messages", "unanswered", "sla_breached", "average_queue_wait_seconds",
           "median_queue_wait_seconds", "p90_first_response_seconds", "average_handle_seconds", "transfers"]


@dataclass(frozen=True)
class StatisticsFilter:
    created_from: datetime
    created_to: datetime
    open_channel_ids: list[int] | None = None
    operator_ids: list[int] | None = None
    #: an IANA name (byDay and byHour are in it)
    time_zone: str = "UTC"
    #: conversations with any of these labels
    label_ids: list[int] | None = None
    priorities: list[ChatPriority] | None = None


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
    average_queue_wait_seconds: float | None = None
    median_queue_wait_seconds: float | None = None
    p90_first_response_seconds: float | None = None
    average_handle_seconds: float | None = None
    transfers: int = 0


@dataclass(frozen=True)
class Statistics:
    totals: ConversationStats
    by_operator: list[tuple[int, ConversationStats]]
    by_open_channel: list[tuple[int, ConversationStats]]
    by_day: list[tuple[str, ConversationStats]]
    by_hour: list[tuple[int, ConversationStats]]
    by_label: list[tuple[int, ConversationStats]]
    by_priority: list[tuple[ChatPriority, ConversationStats]]


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone of that name; INVALID_INPUT for anything else (offsets like +02:00 included)."""
    try:
        if not name or name != name.strip():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone {name!r}: give an IANA name such as Europe/Madrid.",
                           field=["filter", "timeZone"]) from None


def utc_offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) over [start, end): (from this instant on, offset) in order,
    the first from `start`. Looked at day by day, each change then found to the second by
    bisection (zones change at most once a day, on a whole second)."""
    def offset(at: datetime) -> int:
        found = at.astimezone(zone).utcoffset()
        return int(found.total_seconds()) if found is not None else 0

    at = start.astimezone(timezone.utc).replace(microsecond=0)
    changes = [(at, offset(at))]
    while at < end:
        later = min(at + timedelta(days=1), end)
        if offset(later) != changes[-1][1]:
            low, high = 0, int((later - at).total_seconds())  # old offset at low, new at high
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(at + timedelta(seconds=middle)) == changes[-1][1] else (low, middle)
            changes.append((at + timedelta(seconds=high), offset(at + timedelta(seconds=high))))
        at = later
    return changes


class _Sql:
    """Dialect differences: placeholders, seconds between two timestamps, local days and hours, ratings."""

    def __init__(self, dialect: str, zone: str = "UTC", start: datetime | None = None,
                 end: datetime | None = None) -> None:
        self.postgres = dialect == "postgres"
        self.params: list[Any] = []
        self.zone = zone
        self.window = (start, end)

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

    def _local(self, column: str, pg_format: str, sqlite_format: str) -> str:
        if self.postgres:
            return f"to_char({column} AT TIME ZONE {self.param(self.zone)}, '{pg_format}')"
        return f"strftime('{sqlite_format}', {column}, {self._sqlite_offset(column)} || ' seconds')"

    def _sqlite_offset(self, column: str) -> str:
        """The zone's offset at `column`, in seconds: a CASE over the instants it changes in the window."""
        start, end = self.window
        if self.zone == "UTC" or start is None or end is None:
            return "0"
        # a window of centuries would be scanned day by day: the years a conversation can be from
        changes = utc_offsets(ZoneInfo(self.zone), max(start, ZONE_SCAN[0]), min(end, ZONE_SCAN[1]))
        if len(changes) == 1:
            return str(changes[0][1])
        branches = " ".join(f"WHEN {column} < {self.param(at)} THEN {before}"
                            for (_, before), (at, _) in zip(changes, changes[1:]))
        return f"(CASE {branches} ELSE {changes[-1][1]} END)"

    def day(self, column: str) -> str:
        """The calendar day of `column` in the zone, as YYYY-MM-DD."""
        return self._local(column, "YYYY-MM-DD", "%Y-%m-%d")

    def hour(self, column: str) -> str:
        """The hour (0-23) of `column` in the zone."""
        return f"CAST({self._local(column, 'HH24', '%H')} AS INTEGER)"


#: the instants between which SQLite's statement follows a zone's changes of offset (before: the
#: 1970 offset, after: the last one)
ZONE_SCAN = (datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc))

#: the groupings, all in one statement: (number, integer key, text key, join), over `c`
GROUPINGS = [(0, "c.zero", "c.blank", ""), (1, "c.op", "c.blank", ""), (2, "c.oc", "c.blank", ""),
             (3, "c.zero", "c.d", ""), (4, "c.hr", "c.blank", ""),
             (5, "cl.label_id", "c.blank", "JOIN chat_label cl ON cl.chat_id = c.chat_id"),
             (6, "c.zero", "c.pr", "")]
TOTALS, BY_OPERATOR, BY_OPEN_CHANNEL, BY_DAY, BY_HOUR, BY_LABEL, BY_PRIORITY = 0, 1, 2, 3, 4, 5, 6
#: the events that end a wait in a queue (an operator took the chat)
TAKEN = "('CHAT_ANSWERED', 'CHAT_INTERCEPTED')"


def _window(sql: _Sql, f: StatisticsFilter, ch: str) -> str:
    """The WHERE of the window's conversations, over the chat row `ch`."""
    where = [f"{ch}.kind = 'CUSTOMER'", f"{ch}.created_at >= {sql.param(f.created_from)}",
             f"{ch}.created_at < {sql.param(f.created_to)}"]
    if f.open_channel_ids is not None:
        where.append(f"{ch}.open_channel_id IN ({', '.join(sql.param(i) for i in f.open_channel_ids) or 'NULL'})")
    if f.operator_ids is not None:
        where.append(f"{ch}.operator_id IN ({', '.join(sql.param(i) for i in f.operator_ids) or 'NULL'})")
    if f.priorities is not None:
        where.append(f"{ch}.priority IN ({', '.join(sql.param(p.value) for p in f.priorities) or 'NULL'})")
    if f.label_ids is not None:
        labels = ", ".join(sql.param(i) for i in f.label_ids) or "NULL"
        where.append(f"EXISTS (SELECT 1 FROM chat_label fl WHERE fl.chat_id = {ch}.id AND fl.label_id IN ({labels}))")
    return " AND ".join(where)


def _query(sql: _Sql, f: StatisticsFilter, message_counts: bool = True, event_figures: bool = True,
           groupings: frozenset[int] | None = None) -> str:
    """One SELECT of every figure for the totals (group 0) and per operator (1), open channel (2),
    day (3), hour (4), label (5) and priority (6), one row per group tagged (g, ki, kd): on
    PostgreSQL with grouping sets and ordered-set aggregates (`_grouping_sets_query`), elsewhere
    with a branch per grouping and ROW_NUMBER for the medians (`_ranked_query`). Both give the
    same rows (tests/contact_center/test_statistics_statements.py compares them on PostgreSQL)."""
    if sql.postgres:
        return _grouping_sets_query(sql, f, message_counts, event_figures, groupings)
    return _ranked_query(sql, f, message_counts, event_figures, groupings)


#: the figures of one group over `c` (the medians, p90 and queue waits apart)
GROUP_FIGURES = """COUNT(*) AS conversations,
    SUM(CASE WHEN status = 'QUEUED' THEN 1 ELSE 0 END) AS queued,
    SUM(CASE WHEN status = 'ACTIVE' THEN 1 ELSE 0 END) AS active,
    SUM(CASE WHEN status = 'CLOSED' THEN 1 ELSE 0 END) AS closed,
    SUM(CASE WHEN status = 'SPAM' THEN 1 ELSE 0 END) AS spam,
    SUM(CASE WHEN status = 'CLOSED' AND frs IS NULL THEN 1 ELSE 0 END) AS missed,
    AVG(frs) AS average_first_response, AVG(res) AS average_resolution,
    SUM(likes) AS likes, SUM(dislikes) AS dislikes, SUM(cmsg) AS cmsg, SUM(omsg) AS omsg,
    SUM(una) AS unanswered, SUM(slab) AS sla_breached, AVG(hdl) AS average_handle, SUM(trn) AS transfers"""


def _conversations(sql: _Sql, f: StatisticsFilter, message_counts: bool, event_figures: bool) -> str:
    """`c`: one row per conversation of the window with its own figures (frk / frs: the first
    response as an interval to sort on and in seconds)."""
    first_response = sql.seconds("ch.first_response_at", "ch.created_at")
    resolution = sql.seconds("ch.closed_at", "ch.created_at")
    first_answer = "COALESCE(ev.first_answer, ch.answered_at)" if event_figures else "NULL"
    handle = sql.seconds("ch.closed_at", first_answer)
    return f"""c AS (
  SELECT ch.id AS chat_id, ch.status, 0 AS zero, '' AS blank, ch.operator_id AS op, ch.open_channel_id AS oc,
         {sql.day("ch.created_at")} AS d, {sql.hour("ch.created_at")} AS hr, ch.priority AS pr,
         CASE WHEN ch.first_response_at IS NOT NULL THEN {first_response} END AS frs,
         {sql.duration("ch.first_response_at", "ch.created_at")} AS frk,
         CASE WHEN ch.status = 'CLOSED' AND ch.closed_at IS NOT NULL THEN {resolution} END AS res,
         CASE WHEN ch.status = 'CLOSED' AND ch.closed_at IS NOT NULL AND {first_answer} IS NOT NULL
              THEN {handle} END AS hdl,
         {'COALESCE(ev.transfers, 0)' if event_figures else '0'} AS trn,
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
{_event_counts(sql, f) if event_figures else ''}
  WHERE {_window(sql, f, "ch")}
)"""


def _ranked_query(sql: _Sql, f: StatisticsFilter, message_counts: bool, event_figures: bool,
                  groupings: frozenset[int] | None) -> str:
    """The statement for SQLite (it runs on PostgreSQL too): each grouping a branch of a UNION ALL
    over `c` (the label's through chat_label); medians and the p90 are read off the ROW_NUMBER
    over each group's ordered values, so nothing but one row per group leaves the database. `w`
    is one row per wait in a queue, from the event log (see the module's definitions).

    The chat filter is written out (not a CTE) where the message counts are joined, so that the
    planner estimates that join from real statistics: over a CTE it guesses millions of rows and
    PostgreSQL then spends most of the time JIT-compiling the statement."""
    agg = _union(groupings, "SELECT {g} AS g, {ki} AS ki, {kd} AS kd,\n    " + GROUP_FIGURES + """
  FROM c {join} WHERE {ki} IS NOT NULL AND {kd} IS NOT NULL GROUP BY {ki}, {kd}""")
    ranked = _union(groupings, """SELECT {g} AS g, {ki} AS ki, {kd} AS kd, frs,
    ROW_NUMBER() OVER (PARTITION BY {ki}, {kd} ORDER BY frk) AS rn, COUNT(*) OVER (PARTITION BY {ki}, {kd}) AS n
  FROM c {join} WHERE frs IS NOT NULL AND {ki} IS NOT NULL AND {kd} IS NOT NULL""")
    waits = _union(groupings, """SELECT {g} AS g, {ki} AS ki, {kd} AS kd, w.qw,
    ROW_NUMBER() OVER (PARTITION BY {ki}, {kd} ORDER BY w.qwk) AS rn, COUNT(*) OVER (PARTITION BY {ki}, {kd}) AS n
  FROM w JOIN c ON c.chat_id = w.chat_id {join} WHERE {ki} IS NOT NULL AND {kd} IS NOT NULL""")
    return f"""
WITH {_conversations(sql, f, message_counts, event_figures)},
{_waits(sql) if event_figures else NO_WAITS}
agg AS (
{agg}
),
ranked AS (
{ranked}
),
med AS (SELECT g, ki, kd, AVG(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN frs END) AS median,
               MAX(CASE WHEN rn = (9 * n + 9) / 10 THEN frs END) AS p90
        FROM ranked GROUP BY g, ki, kd),
wranked AS (
{waits}
),
wmed AS (SELECT g, ki, kd, AVG(qw) AS average, AVG(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN qw END) AS median
         FROM wranked GROUP BY g, ki, kd)
SELECT agg.g, agg.ki, agg.kd, conversations, queued, active, closed, spam, missed, average_first_response,
       med.median, average_resolution, likes, dislikes, cmsg, omsg, unanswered, sla_breached, wmed.average,
       wmed.median, med.p90, average_handle, transfers
FROM agg LEFT JOIN med ON med.g = agg.g AND med.ki = agg.ki AND med.kd = agg.kd
LEFT JOIN wmed ON wmed.g = agg.g AND wmed.ki = agg.ki AND wmed.kd = agg.kd
ORDER BY agg.g, agg.ki, agg.kd"""


def _grouping_sets_query(sql: _Sql, f: StatisticsFilter, message_counts: bool, event_figures: bool,
                         groupings: frozenset[int] | None) -> str:
    """The statement for PostgreSQL: the groupings over `c` are the grouping sets of one GROUP BY
    (the rows read once, each grouping sorted in the same pass) and the label's a
    second branch through chat_label; the waits likewise over `w`. Medians and the p90 are
    ordered-set aggregates in the same pass, with the ranks of `_ranked_query`: percentile_disc(p)
    is the value at rank ceil(p n) (in floating point; for 0.9 that is ceil(9 n / 10) exactly: 0.9's
    rounding error is far under half a unit of the product's last place), so the lower
    middle (rank (n + 1) / 2) is percentile_disc(0.5), the upper one (rank n / 2 + 1) the lower
    middle in descending order, the median their mean (the AVG of those two rows, in numeric)
    and the p90 (rank (9 n + 9) / 10) percentile_disc(0.9). Values that sort equal are equal in
    seconds (the seconds are those of the interval sorted on), so ties do not matter."""
    sets = [(g, ki if ki != "c.zero" else kd) for g, ki, kd, join in GROUPINGS
            if not join and g != TOTALS and (groupings is None or g in groupings)]
    labels = groupings is None or BY_LABEL in groupings

    def grouped(source: str, figures: str, label_join: str) -> str:
        # each grouping set's key: (ki, kd) as in GROUPINGS, NULL keys left out like there
        g = (f"CASE {' '.join(f'WHEN GROUPING({key}) = 0 THEN {number}' for number, key in sets)} ELSE {TOTALS} END"
             if sets else str(TOTALS))
        integer_keys = [key for number, key in sets if number not in (BY_DAY, BY_PRIORITY)]
        text_keys = [key for number, key in sets if number in (BY_DAY, BY_PRIORITY)]
        # the empty grouping set has a row even without any conversation: left out as there
        having = " AND ".join(["COUNT(*) > 0"] + [f"(GROUPING({key}) = 1 OR {key} IS NOT NULL)" for _, key in sets])
        branches = [f"""  SELECT {g} AS g, COALESCE({', '.join(integer_keys + ['0'])}) AS ki,
         COALESCE({', '.join(text_keys + ["''"])}) AS kd, {figures}
  FROM {source}
  GROUP BY GROUPING SETS ((){''.join(f', ({key})' for _, key in sets)}) HAVING {having}"""]
        if labels:
            branches.append(f"""  SELECT {BY_LABEL} AS g, cl.label_id AS ki, '' AS kd, {figures}
  FROM {source} {label_join} GROUP BY cl.label_id""")
        return "\n  UNION ALL\n".join(branches)

    label_join = "JOIN chat_label cl ON cl.chat_id = c.chat_id"
    agg = grouped("c", GROUP_FIGURES + """,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY frk) AS frk_low,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY frk DESC) AS frk_high,
    percentile_disc(0.9) WITHIN GROUP (ORDER BY frk) AS frk_p90""", label_join)
    median = "(EXTRACT(EPOCH FROM {0}_low) + EXTRACT(EPOCH FROM {0}_high)) / 2"
    if not event_figures:
        return f"""
WITH {_conversations(sql, f, message_counts, event_figures)},
agg AS (
{agg}
)
SELECT g, ki, kd, conversations, queued, active, closed, spam, missed, average_first_response,
       {median.format("frk")}, average_resolution, likes, dislikes, cmsg, omsg, unanswered, sla_breached,
       NULL, NULL, EXTRACT(EPOCH FROM frk_p90), average_handle, transfers
FROM agg ORDER BY g, ki, kd"""
    wagg = grouped("w JOIN c ON c.chat_id = w.chat_id", """AVG(qw) AS average,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY qwk) AS qwk_low,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY qwk DESC) AS qwk_high""", label_join)
    return f"""
WITH {_conversations(sql, f, message_counts, event_figures)},
{_waits(sql)}
agg AS (
{agg}
),
wagg AS (
{wagg}
)
SELECT agg.g, agg.ki, agg.kd, conversations, queued, active, closed, spam, missed, average_first_response,
       {median.format("agg.frk")}, average_resolution, likes, dislikes, cmsg, omsg, unanswered, sla_breached,
       wagg.average, {median.format("wagg.qwk")}, EXTRACT(EPOCH FROM agg.frk_p90), average_handle, transfers
FROM agg LEFT JOIN wagg ON wagg.g = agg.g AND wagg.ki = agg.ki AND wagg.kd = agg.kd
ORDER BY agg.g, agg.ki, agg.kd"""


#: `w` when the queue waits are not asked for: no row, the event log not read
NO_WAITS = "w AS (SELECT c.chat_id, 0.0 AS qw, 0.0 AS qwk FROM c WHERE 1 = 0),"


def _waits(sql: _Sql) -> str:
    """`w`: one row per wait in a queue (chat_id, seconds, sort key). Each event of the window's
    chats that puts it in a queue or ends a wait is numbered by the takes before it (`stretch`):
    a stretch's first queue entry to its take is one wait."""
    wait_end = f"MAX(CASE WHEN kind IN {TAKEN} THEN happened END)"
    wait_start = f"MIN(CASE WHEN kind NOT IN {TAKEN} THEN happened END)"
    return f"""stretches AS (
  SELECT e.chat_id, e.kind, e.created_at AS happened, COALESCE(SUM(CASE WHEN e.kind IN {TAKEN} THEN 1 ELSE 0 END)
         OVER (PARTITION BY e.chat_id ORDER BY e.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS stretch
  FROM c JOIN event e ON e.chat_id = c.chat_id
  WHERE e.kind IN ('CHAT_QUEUED', 'CHAT_TRANSFERRED', 'CHAT_ANSWERED', 'CHAT_INTERCEPTED')
),
w AS (
  SELECT chat_id, {sql.seconds(wait_end, wait_start)} AS qw, {sql.duration(wait_end, wait_start)} AS qwk
  FROM stretches GROUP BY chat_id, stretch HAVING {wait_end} IS NOT NULL AND {wait_start} IS NOT NULL
),"""


def _event_counts(sql: _Sql, f: StatisticsFilter) -> str:
    """The join of each conversation's transfers and first answer, from the event log."""
    return f"""LEFT JOIN (
    SELECT e.chat_id, SUM(CASE WHEN e.kind = 'CHAT_TRANSFERRED' THEN 1 ELSE 0 END) AS transfers,
           MIN(CASE WHEN e.kind IN {TAKEN} THEN e.created_at END) AS first_answer
    FROM chat ech JOIN event e ON e.chat_id = ech.id
    WHERE {_window(sql, f, "ech")} AND e.kind IN ('CHAT_TRANSFERRED', 'CHAT_ANSWERED', 'CHAT_INTERCEPTED')
    GROUP BY e.chat_id
  ) ev ON ev.chat_id = ch.id"""


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


def _union(groupings: frozenset[int] | None, template: str) -> str:
    """The template once per grouping asked for (None: all; the totals always), as a UNION ALL."""
    return "\n  UNION ALL\n".join("  " + template.format(g=g, ki=ki, kd=kd, join=join)
                                   for g, ki, kd, join in GROUPINGS
                                   if groupings is None or g == TOTALS or g in groupings)


def _stats(row: list[Any]) -> ConversationStats:
    values = dict(zip(FIGURES, row))
    for name in FIGURES:
        value = values[name]
        if name.endswith("_seconds"):
            values[name] = round(float(value), 3) if value is not None else None
        else:
            values[name] = int(value or 0)
    return ConversationStats(**values)


#: run before the statistics statement in its transaction on PostgreSQL (see _rows)
NO_JIT = "SET LOCAL jit = off"


async def _rows(f: StatisticsFilter, message_counts: bool, event_figures: bool,
                groupings: frozenset[int] | None) -> list[tuple[Any, ...]]:
    connection = default_connection()
    sql = _Sql(connection.capabilities.dialect, f.time_zone, f.created_from, f.created_to)
    text = _query(sql, f, message_counts, event_figures, groupings)
    if sql.postgres:
        # PostgreSQL's JIT compiles this statement's many expressions for longer than it runs: at
        # the bench's full size, 30 days took 1.0-1.8 s with JIT and 0.56-0.65 s without (2 busy
        # cores), a year 7-16 s against 7-9 s. Off for this statement only (SET LOCAL).
        async with transaction() as tx:
            await tx.execute_script(NO_JIT)
            _, rows = await tx.execute_query(text, sql.params)
    else:
        _, rows = await connection.execute_query(text, sql.params)
    return [tuple(r.values()) if hasattr(r, "values") else tuple(r) for r in rows]


async def statistics(viewer: Viewer, *, filter: StatisticsFilter, message_counts: bool = True,
                     event_figures: bool = True, groupings: frozenset[int] | None = None) -> Statistics:
    """Totals and the six breakdowns: one grouped statement (rows tagged by grouping).
    `message_counts=False` leaves clientMessages and operatorMessages at 0 without reading any
    message, `event_figures=False` the queue waits, handle time and transfers null / 0 without
    reading the event log, for callers that do not show them; `groupings` (BY_OPERATOR ... BY_PRIORITY;
    None: all) computes only those breakdowns, the others are empty."""
    require_operator(viewer)
    if filter.created_from >= filter.created_to:
        raise InvalidInput("`from` must be before `to`.", field=["filter", "from"])
    time_zone(filter.time_zone)
    # an operator: only the conversations they are responsible for (services/policies/statistics.py)
    filter = replace(filter, operator_ids=statistics_policy.counted_operator_ids(viewer, filter.operator_ids))
    groups: dict[int, list[tuple[Any, ConversationStats]]] = {g: [] for g, *_ in GROUPINGS}
    for g, ki, kd, *figures in await _rows(filter, message_counts, event_figures, groupings):
        groups[g].append((kd if g in (BY_DAY, BY_PRIORITY) else int(ki), _stats(figures)))
    priority_order = list(ChatPriority)
    return Statistics(
        totals=groups[0][0][1] if groups[0] else ConversationStats(),
        by_operator=groups[1],
        by_open_channel=groups[2],
        by_day=groups[BY_DAY],
        by_hour=groups[BY_HOUR],
        by_label=groups[BY_LABEL],
        by_priority=sorted(((ChatPriority(k), stats) for k, stats in groups[BY_PRIORITY]),
                           key=lambda group: priority_order.index(group[0])),
    )
