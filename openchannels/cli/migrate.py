"""`openchannels migrate`: apply pending migrations, one line each."""
from __future__ import annotations

import argparse
import asyncio

from openchannels.cli.console import redact, say
from openchannels.cli.database_session import migrate_database, migration_summary
from infrastructure.settings import Settings


def command_migrate(args: argparse.Namespace, settings: Settings) -> int:
    say(f"migrating {redact(settings.database_url)}")
    applied = asyncio.run(migrate_database(settings, say))
    say(migration_summary(applied))
    return 0
