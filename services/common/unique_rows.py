"""Get-or-create of rows unique by a key, under concurrency: one rule for the whole code.

Two transactions that both find no row and both insert one: PostgreSQL makes the second INSERT
wait for the first transaction and then fails it with a unique violation. That failure means
"someone else created it just now", nothing more: the create runs in a savepoint, so the
transaction lives on, and its next statement (READ COMMITTED) sees the winner's row, which is
then used as if it had been found at first. What a request was a repeat of (a messageId stored
before, say) is decided by the caller from the row it gets, never from an exception.

Single rows use Tortoise's `Model.get_or_create(..., using_db=tx)`, which works the same way (a
savepoint, then the read); `create_or_find` is for the cases it cannot express: several rows made
together (a client and its connector identity), or a row found by another condition than the
values it is made with.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

T = TypeVar("T")


async def create_or_find(tx: BaseDBAsyncClient, *, find: Callable[[], Awaitable[T | None]],
                         create: Callable[[BaseDBAsyncClient], Awaitable[T]]) -> tuple[T, bool]:
    """(the row `find` gives, False), else (the row `create` makes in a savepoint of `tx`, True);
    when a concurrent transaction made it first, (its row, False). Any other violation is raised:
    `find` finds nothing after it."""
    found = await find()
    if found is not None:
        return found, False
    try:
        async with tx._in_transaction() as savepoint:  # a savepoint: Tortoise's get_or_create takes one the same way
            return await create(savepoint), True
    except IntegrityError:
        found = await find()
        if found is None:
            raise
        return found, False
