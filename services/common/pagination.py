"""Keyset (cursor) pagination over a primary key: stable when rows are inserted between pages."""
from __future__ import annotations

import base64
import json
import operator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from services.common.errors import InvalidInput
from services.common.numerals import MAX_PK, checked_number, parse_numeral

T = TypeVar("T")
MAX_PAGE_SIZE = 100


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"c:{pk}".encode()).decode()


def decode_cursor(cursor: str, argument: str) -> int:
    try:
        prefix, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        number = parse_numeral(pk, maximum=MAX_PK) if prefix == "c" else None
        if number is not None:
            return number
    except Exception:
        pass
    raise InvalidInput(f"`{argument}` is not a cursor from this API.", field=[argument])


@dataclass
class Page(Generic[T]):
    rows: list[T]
    has_next_page: bool
    has_previous_page: bool
    #: None when the caller did not ask for it: `count_total` counts on demand
    total_count: int | None
    #: each row's cursor, when not the plain id cursor (keyset pages)
    cursors: list[str] | None = field(default=None)
    #: the count, when it was left out of the page (an awaitable each call)
    count_total: Callable[[], Awaitable[int]] | None = field(default=None)
    #: row id -> the relations read with the page (services/chats/chat_relations.py), when it reads them
    relations: dict[int, dict[str, Any]] = field(default_factory=dict)

    def total(self) -> int | Awaitable[int]:
        """The total counted with the page, or, for a page read without it, the awaitable count."""
        if self.total_count is not None:
            return self.total_count
        assert self.count_total is not None  # a page has its total or the way to count it
        return self.count_total()


async def paginate(query: QuerySet, *, first: int | None = None, after: str | None = None, last: int | None = None,
                   before: str | None = None, default_size: int = 50, ascending: bool = True) -> Page:
    """One page of `query` in primary-key order (`ascending`), Relay style."""
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}.", field=[name])
    if first is not None and last is not None:
        raise InvalidInput("Give `first` or `last`, not both.", field=["last"])
    total = await query.count()
    window = query
    gt, lt = ("id__gt", "id__lt") if ascending else ("id__lt", "id__gt")
    if after is not None:
        window = window.filter(**{gt: decode_cursor(after, "after")})
    if before is not None:
        window = window.filter(**{lt: decode_cursor(before, "before")})
    forward, backward = ("id", "-id") if ascending else ("-id", "id")
    if last is not None:
        rows = list(await window.order_by(backward).limit(last + 1))
        has_more = len(rows) > last
        rows = list(reversed(rows[:last]))
        return Page(rows, has_next_page=before is not None, has_previous_page=has_more, total_count=total)
    size = first if first is not None else default_size
    rows = list(await window.order_by(forward).limit(size + 1))
    has_more = len(rows) > size
    return Page(rows[:size], has_next_page=has_more, has_previous_page=after is not None, total_count=total)


# --------------------------------------------------------------------------- keyset on (sort key, id)


@dataclass(frozen=True)
class Keyset:
    """An order of rows by (`key`, id), both ascending or both descending.

    `key` is a non-null column or annotation of the query (a datetime or a float). A cursor carries the
    order's `name`, the row's key and its id: the next page starts strictly after that pair,
    so rows inserted meanwhile neither repeat nor shift a page (unlike OFFSET).
    """

    name: str
    key: str
    descending: bool
    #: "datetime" or "float" (a search rank)
    kind: str = "datetime"

    def dump(self, value: Any) -> Any:
        return _as_datetime(value).isoformat() if self.kind == "datetime" else float(value)

    def load(self, value: Any) -> Any:
        return _as_datetime(value) if self.kind == "datetime" else float(value)


def encode_keyset_cursor(keyset: Keyset, value: Any, pk: int) -> str:
    if keyset.kind == "datetime":  # json.dumps' text for [name, ISO date, id], written directly (a page has many)
        text = f'["{keyset.name}", "{_as_datetime(value).isoformat()}", {int(pk)}]'
    else:
        text = json.dumps([keyset.name, keyset.dump(value), pk])
    return base64.urlsafe_b64encode(f"k:{text}".encode()).decode()


def _keyset_cursor_parts(cursor: str) -> list | None:
    """[keyset name, key value, id] of a keyset cursor; None for anything else."""
    try:
        prefix, _, text = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        parts = json.loads(text) if prefix == "k" else None
    except Exception:
        return None
    return parts if isinstance(parts, list) and len(parts) == 3 else None


def keyset_name_of(cursor: str) -> str | None:
    """The name of the keyset (the order) a cursor was made in; None when it is not a keyset cursor."""
    parts = _keyset_cursor_parts(cursor)
    return parts[0] if parts is not None and isinstance(parts[0], str) else None


def _decode_keyset_cursor(keyset: Keyset, cursor: str, argument: str) -> tuple[Any, int]:
    parts = _keyset_cursor_parts(cursor)
    if parts is not None:
        name, value, pk = parts
        try:
            number = checked_number(pk, maximum=MAX_PK)
            if name == keyset.name and number is not None:
                return keyset.load(value), number
        except Exception:
            pass
    raise InvalidInput(f"`{argument}` is not a cursor of this list in this order.", field=[argument])


def _as_datetime(value: Any) -> datetime:
    """SQLite returns annotated datetimes as text: one form for cursors and comparisons."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _beyond(keyset: Keyset, value: Any, pk: int, forward: bool) -> Q:
    """Rows strictly after (value, pk) in the keyset's order (`forward`) or strictly before it."""
    later = keyset.descending != forward  # ascending and forward, or descending and backward
    op = "gt" if later else "lt"
    return Q(**{f"{keyset.key}__{op}": value}) | Q(**{keyset.key: value, f"id__{op}": pk})


def check_page_size(first: int | None, last: int | None) -> None:
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE} (the maximum page size).",
                               field=[name])
    if first is not None and last is not None:
        raise InvalidInput("Give `first` or `last`, not both.", field=["last"])


@dataclass(frozen=True)
class KeysetWindow:
    """What one keyset page reads: rows strictly after `after` and before `before` ((key, id) pairs,
    decoded from the cursors), `limit` of them (one more than the page, to know whether there is
    more), from the start of the order, or from its end when `backward` (`last`)."""

    keyset: Keyset
    after: tuple[Any, int] | None
    before: tuple[Any, int] | None
    size: int
    backward: bool

    @property
    def limit(self) -> int:
        return self.size + 1

    @property
    def descending(self) -> bool:
        """The direction rows are read in."""
        return self.keyset.descending != self.backward


def keyset_window(keyset: Keyset, *, first: int | None = None, after: str | None = None, last: int | None = None,
                  before: str | None = None, default_size: int = 50) -> KeysetWindow:
    """The window of a Relay page request (`first`/`after`, `last`/`before`), its arguments checked."""
    check_page_size(first, last)
    return KeysetWindow(
        keyset,
        after=_decode_keyset_cursor(keyset, after, "after") if after is not None else None,
        before=_decode_keyset_cursor(keyset, before, "before") if before is not None else None,
        size=last if last is not None else first if first is not None else default_size,
        backward=last is not None,
    )


def keyset_page(window: KeysetWindow, rows: list, total: int | None, with_cursors: bool = True,
                key_of: Callable[[Any], Any] | None = None) -> Page:
    """The page of the rows a window read (in the direction it read them), with each row's cursor
    (a row has `id` and the keyset's key as attributes, or `key_of` gives the key of a row);
    without `with_cursors`, empty ones (for a caller whose selection reads none)."""
    more = len(rows) > window.size
    rows = rows[:window.size]
    if window.backward:
        page = Page(rows[::-1], has_next_page=window.before is not None, has_previous_page=more, total_count=total)
    else:
        page = Page(rows, has_next_page=more, has_previous_page=window.after is not None, total_count=total)
    key = window.keyset.key
    if key_of is None:
        key_of = operator.attrgetter(key)
    page.cursors = [encode_keyset_cursor(window.keyset, key_of(row), row.id) for row in page.rows] \
        if with_cursors else [""] * len(page.rows)
    return page


async def paginate_keyset(query: QuerySet, keyset: Keyset, *, first: int | None = None, after: str | None = None,
                          last: int | None = None, before: str | None = None, default_size: int = 50,
                          count: QuerySet | None = None, with_total: bool = True) -> Page:
    """One page of `query` in the keyset's order, Relay style; `Page.cursors` holds each row's cursor.

    Two statements: the total (of `count`, or `query`) and the window (one row more than asked,
    to know whether there is more). Without `with_total` the total is left for `Page.count_total`
    (a count of every match is the dearest part of a search that has many).
    """
    window = keyset_window(keyset, first=first, after=after, last=last, before=before, default_size=default_size)
    counted = count if count is not None else query
    total = await counted.count() if with_total else None
    if window.after is not None:
        query = query.filter(_beyond(keyset, *window.after, forward=True))
    if window.before is not None:
        query = query.filter(_beyond(keyset, *window.before, forward=False))
    sign = "-" if window.descending else ""
    rows = list(await query.order_by(f"{sign}{keyset.key}", f"{sign}id").limit(window.limit))
    page = keyset_page(window, rows, total)
    if not with_total:
        page.count_total = counted.count
    return page


def keyset_sql(window: KeysetWindow, key: str, param: Callable[[Any], str]) -> tuple[list[str], str]:
    """For a hand-written statement: (the conditions, the ORDER BY ... LIMIT clause) of the window,
    `key` being the SQL of the keyset's key on a row aliased `c` (added to the statement's
    values with `param`)."""
    conditions = []
    for bound, forward in ((window.after, True), (window.before, False)):
        if bound is not None:
            value, pk = bound
            later = window.keyset.descending != forward
            conditions.append(f"({key}, c.id) {'>' if later else '<'} ({param(value)}, {param(pk)})")
    direction = "DESC" if window.descending else "ASC"
    return conditions, f"ORDER BY {key} {direction}, c.id {direction} LIMIT {int(window.limit)}"
