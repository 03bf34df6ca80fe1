"""Database start-up and migrations (Tortoise's own, committed under models/migrations)."""
from __future__ import annotations

import logging
from typing import Callable

from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

from infrastructure.settings import Settings, tortoise_config

log = logging.getLogger("infrastructure.database")


async def init_database(settings: Settings) -> None:
    """Open the connections (inside a server lifespan the global fallback lets request tasks see them)."""
    await Tortoise.init(config=tortoise_config(settings.database_url, settings.database_pool_size),
                        _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


async def check_database() -> None:
    """A trivial query on the default connection (readiness); raises if the database does not answer."""
    await Tortoise.get_connection("default").execute_query("SELECT 1")


async def apply_migrations(settings: Settings, progress: Callable[[str], None] | None = None) -> None:
    """Apply every pending migration; prints each one through `progress`."""

    def report(event: str, app_label: str, name: str) -> None:
        if progress and event == "apply_start":
            progress(f"applying {app_label}.{name} ...")
        elif progress and event == "apply_done":
            progress(f"applied  {app_label}.{name}")

    await tortoise_migrate(config=tortoise_config(settings.database_url), progress=report)
    await Tortoise.close_connections()
