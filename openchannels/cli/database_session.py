"""The database for the length of one command: migrated, connected, and always closed again."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from infrastructure.database import apply_migrations, close_database, init_database
from infrastructure.settings import Settings


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    """Tortoise connected for one command, and closed again whatever happens."""
    try:
        await init_database(settings)
        yield
    finally:
        await close_database()


async def migrate_database(settings: Settings, progress: Callable[[str], None]) -> int:
    """Apply pending migrations; returns how many were applied."""
    applied = 0

    def report(line: str) -> None:
        nonlocal applied
        if line.startswith("applying"):
            applied += 1
        progress(line)

    try:
        await apply_migrations(settings, report)
    finally:
        await close_database()  # also after a failure: an open SQLite connection keeps the process alive
    return applied


def migration_summary(applied: int) -> str:
    if applied == 0:
        return "no pending migrations: database is up to date"
    return f"applied {applied} migration{'s' if applied != 1 else ''}: database is up to date"
