"""`openchannels operations register|list|remove`: the trusted documents (persisted operations).

`register` checks every operation of the manifest before it writes anything: one line per
refused operation, and then nothing is registered (a client release is registered whole).
"""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from openchannels.cli.console import note, say
from openchannels.cli.database_session import database, migrate_database
from openchannels.cli.failures import CommandError
from infrastructure.settings import Settings
from openchannels.operation_manifest import ManifestError, check_manifest, read_manifest
from schema import schema_for
from schema.limits import QueryLimits
from services.identity.persisted_operations import list_operations, register_operations, remove_operations


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


async def _migrated(settings: Settings) -> None:
    """As create-operator: pending migrations first (the table of operations came with 0004)."""
    if await migrate_database(settings, note):
        note("database is up to date")


async def _register(settings: Settings, path: Path) -> None:
    try:
        kind, candidates = read_manifest(path)
    except ManifestError as error:
        raise CommandError(str(error)) from error
    if not candidates:
        raise CommandError(f"{path} holds no operation")
    note(f"{path}: {kind}, {_plural(len(candidates), 'operation')}")
    entries, refusals = check_manifest(candidates, schema_for(settings), QueryLimits.from_settings(settings))
    for refusal in refusals:
        note(refusal.line())
    if refusals:
        raise CommandError(f"nothing registered: {len(refusals)} of {_plural(len(candidates), 'operation')} "
                           "refused (see the lines above)")
    note(f"checked {_plural(len(entries), 'operation')} against the schema and the query limits")
    await _migrated(settings)
    async with database(settings):
        done = await register_operations(entries)
    say(f"registered {_plural(done.added, 'new operation')}, {done.already_registered} already registered")


async def _list(settings: Settings) -> None:
    await _migrated(settings)
    async with database(settings):
        operations = await list_operations()
    if not operations:
        note("no operation is registered")
        return
    for operation in operations:
        say(f"{operation.id}  {operation.operation_type:<12}  {operation.name or '(anonymous)'}  "
            f"{operation.created_at:%Y-%m-%d %H:%M}")
    note(_plural(len(operations), "operation"))


async def _remove(settings: Settings, ids: list[str], remove_all: bool) -> None:
    if bool(ids) == remove_all:
        raise CommandError("give the ids to remove, or --all (not both) (see `openchannels operations remove --help`)")
    await _migrated(settings)
    async with database(settings):
        removed = await remove_operations(None if remove_all else ids)
    say(f"removed {_plural(removed, 'operation')}")


def command_operations_register(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_register(settings, Path(args.manifest)))
    return 0


def command_operations_list(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_list(settings))
    return 0


def command_operations_remove(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_remove(settings, args.ids, args.all))
    return 0
