"""`openchannels create-operator`: an operator and a token that never expires, the token last."""
from __future__ import annotations

import argparse
import asyncio

from openchannels.cli.console import note, say
from openchannels.cli.database_session import database, migrate_database
from infrastructure.settings import Settings
from services.identity.auth import issue_token
from services.chats.operators import parse_role, register_operator


async def _create_operator(settings: Settings, *, name: str, email: str, role: str, password: str | None):
    parsed_role = parse_role(role)  # before touching the database: a typo costs nothing
    if await migrate_database(settings, note):
        note("database is up to date")
    async with database(settings):
        operator = await register_operator(name=name, email=email, role=parsed_role, password=password)
        token = await issue_token(operator.id, ttl_seconds=None)
    return operator, token


def command_create_operator(args: argparse.Namespace, settings: Settings) -> int:
    operator, token = asyncio.run(_create_operator(
        settings, name=args.name, email=args.email, role=args.role, password=args.password,
    ))
    say(f"created {operator.role.value} {operator.name} <{operator.email}> (id {operator.id})")
    say("API token (never expires; send `Authorization: Bearer <token>`):")
    say(token)
    return 0
