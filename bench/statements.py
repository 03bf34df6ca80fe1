"""B6: SQL statements per request, counted in-process on the bench database.

Tortoise logs every statement it executes at DEBUG on the `tortoise.db_client` logger
(execute_query and friends log "<sql>: <values>", execute_script the SQL alone); a handler
on that logger counts them while one request is authenticated and executed through the
real schema, exactly as the HTTP endpoint does it.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from resolvers.context import Context
from schema import schema
from services.identity.auth import authenticate


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "%s: %s" and record.args:
            self.statements.append(str(record.args[0]))
        elif not record.args and isinstance(record.msg, str):
            self.statements.append(record.msg)


@contextmanager
def counting() -> Iterator[_Counter]:
    counter = _Counter()
    logger = logging.getLogger("tortoise.db_client")
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


async def execute(query: str, token: str) -> tuple[dict, list[str]]:
    """The data of one request as the operator with this token, and the statements it ran."""
    with counting() as counter:
        viewer = await authenticate(f"Bearer {token}")
        result = await schema.execute(query, context_value=Context(viewer=viewer))
    if result.errors:
        raise RuntimeError(f"the query failed: {result.errors}")
    return result.data, counter.statements
