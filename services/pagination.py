"""Keyset (cursor) pagination over a primary key: stable when rows are inserted between pages."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Generic, TypeVar

from tortoise.queryset import QuerySet

from services.errors import InvalidInput

T = TypeVar("T")
MAX_PAGE_SIZE = 100


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"c:{pk}".encode()).decode()


def decode_cursor(cursor: str, argument: str) -> int:
    try:
        prefix, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix == "c" and pk.isdigit():
            return int(pk)
    except Exception:
        pass
    raise InvalidInput(f"`{argument}` is not a cursor from this API.", field=[argument])


@dataclass
class Page(Generic[T]):
    rows: list[T]
    has_next_page: bool
    has_previous_page: bool
    total_count: int


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
