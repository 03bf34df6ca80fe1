"""Contact center > Export: the conversations list and the statistics as CSV, streamed.

- Conversations: exactly the rows of the `conversations` query for the same viewer, filter and
  order, because they ARE that query: services/contact_center/conversations.py `conversations`
  (its filter, the viewer's visibility from services/policies/chats.py) read one keyset page of
  `BATCH` chats at a time, each page turned into CSV text and handed on before the next is
  read. Memory stays at one page whatever the number of conversations (measured in
  tests/contact_center/test_exports.py), and each page is one indexed keyset statement, so the
  last page costs what the first does.
- Statistics: the figures of services/contact_center/statistics.py (an operator: only their own,
  services/policies/statistics.py), one row per grouping: the totals, each operator, each open
  channel, each day and hour (in the filter's time zone), each label, each priority.

The first page (or the statistics) is read when the export is asked for, before a byte is sent:
a bad filter or a refused viewer is an error the HTTP endpoint can still answer with a status
(openchannels/exports.py); later pages only continue what was allowed.

CSV: RFC 4180 (commas, quotes and line breaks quoted, CRLF line ends), UTF-8. A text cell that
starts with = + - @ (or a tab or carriage return) gets a leading apostrophe, so a spreadsheet
shows it as text rather than running it as a formula (CSV injection); numbers and times are
written by us and never start that way.
"""
from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from services.chats.read_models import ChatRow
from services.common.pagination import MAX_PAGE_SIZE, Page
from services.contact_center import statistics as statistics_service
from services.contact_center.conversations import ConversationFilter, ConversationOrder, conversations
from services.contact_center.statistics import FIGURES, ConversationStats, StatisticsFilter
from services.identity.viewer import Viewer

#: chats per page read (the largest page the query serves)
BATCH = MAX_PAGE_SIZE
#: the first characters a spreadsheet takes for a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CONVERSATION_COLUMNS = (
    "id", "title", "status", "priority", "pinned", "open_channel_id", "open_channel", "client_id", "client",
    "client_email", "operator_id", "operator", "created_at", "answered_at", "first_response_at", "closed_at",
    "last_activity_at",
)
STATISTICS_COLUMNS = ("group", "key", *FIGURES)
_RELATIONS = frozenset({"client", "operator", "open_channel"})

#: how an id is shown: (type name, primary key) -> the API's ID (openchannels/exports.py gives the global ID)
IdOf = Callable[[str, int], str]


def cell(value: Any) -> str:
    """One value as CSV text: empty for None, ISO 8601 times, true/false, an enum's value, a text
    guarded against formula injection."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return buffer.getvalue()


def _conversation_row(chat: ChatRow, relations: dict[str, Any], id_of: IdOf) -> list[Any]:
    client, operator, channel = relations.get("client"), relations.get("operator"), relations.get("open_channel")
    return [
        id_of("Chat", chat.id), chat.title, chat.status, chat.priority, chat.pinned,
        id_of("OpenChannel", chat.open_channel_id) if chat.open_channel_id is not None else None,
        channel.name if channel is not None else None,
        id_of("Client", chat.client_id) if chat.client_id is not None else None,
        client.name if client is not None else None, client.email if client is not None else None,
        id_of("Operator", chat.operator_id) if chat.operator_id is not None else None,
        operator.name if operator is not None else None,
        chat.created_at, chat.answered_at, chat.first_response_at, chat.closed_at, chat.last_activity_at,
    ]


async def _page(viewer: Viewer, filter: ConversationFilter, order: ConversationOrder, after: str | None) -> Page[ChatRow]:
    return await conversations(viewer, filter=filter, order=order, first=BATCH, after=after, with_total=False,
                               relations=_RELATIONS)


async def conversations_csv(viewer: Viewer, *, filter: ConversationFilter | None = None,
                            order: ConversationOrder = ConversationOrder.NEWEST,
                            id_of: IdOf) -> AsyncIterator[str]:
    """The export's CSV text, one chunk per page (the header with the first). Reads the first page
    now: a refused viewer or a bad filter raises here, before anything is sent."""
    filter = filter or ConversationFilter()
    first = await _page(viewer, filter, order, None)

    async def chunks() -> AsyncIterator[str]:
        page: Page[ChatRow] | None = first
        yield csv_text([CONVERSATION_COLUMNS])
        while page is not None:
            yield csv_text(_conversation_row(chat, page.relations.get(chat.id, {}), id_of) for chat in page.rows)
            if not page.has_next_page or not page.rows or not page.cursors:
                return
            page = await _page(viewer, filter, order, page.cursors[-1])

    return chunks()


def _figures(stats: ConversationStats) -> list[Any]:
    return [getattr(stats, name) for name in FIGURES]


async def statistics_csv(viewer: Viewer, *, filter: StatisticsFilter, id_of: IdOf) -> AsyncIterator[str]:
    """The statistics of the filter as CSV: `group` total / operator / open_channel / day / hour / label /
    priority and its `key` (none, the operator's, channel's or label's ID, the day, the hour 0-23,
    the priority). Computed now (errors raise here)."""
    found = await statistics_service.statistics(viewer, filter=filter)

    async def chunks() -> AsyncIterator[str]:
        yield csv_text([STATISTICS_COLUMNS, ["total", None, *_figures(found.totals)]])
        yield csv_text(["operator", id_of("Operator", key), *_figures(stats)] for key, stats in found.by_operator)
        yield csv_text(["open_channel", id_of("OpenChannel", key), *_figures(stats)]
                       for key, stats in found.by_open_channel)
        yield csv_text(["day", key, *_figures(stats)] for key, stats in found.by_day)
        yield csv_text(["hour", key, *_figures(stats)] for key, stats in found.by_hour)
        yield csv_text(["label", id_of("Label", key), *_figures(stats)] for key, stats in found.by_label)
        yield csv_text(["priority", key, *_figures(stats)] for key, stats in found.by_priority)

    return chunks()
