"""How a failure reaches the user: ONE line on stderr and a non-zero exit.

The traceback goes to the log (at LOG_LEVEL=debug only), never to the user's terminal.
"""
from __future__ import annotations

import asyncio
import logging

from openchannels.cli.console import PROG, redact
from infrastructure.settings import Settings
from services.common.errors import DomainError
from tortoise.exceptions import ConfigurationError, DBConnectionError, OperationalError

#: one logger for every command, so LOG_LEVEL=debug lines read `openchannels.cli: ...` whichever module wrote them
log = logging.getLogger("openchannels.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure explained in one line for the user."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def explain(exc: Exception, settings: Settings | None) -> str:
    """The one line a user sees for a failure."""
    where = redact(settings.database_url) if settings else "the database"
    if isinstance(exc, CommandError):
        return str(exc)
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ConfigurationError):
        return f"bad database configuration ({where}): {_one_line(exc)}"
    if isinstance(exc, (DBConnectionError, ConnectionError, OSError, asyncio.TimeoutError)):
        return f"cannot reach the database at {where}: {_one_line(exc)}"
    if isinstance(exc, OperationalError):
        hint = f" (is it migrated? run `{PROG} migrate`)" if "exist" in str(exc) else ""
        return f"database error at {where}: {_one_line(exc)}{hint}"
    return f"{type(exc).__name__}: {_one_line(exc)} (LOG_LEVEL=debug shows the traceback)"
