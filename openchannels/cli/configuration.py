"""Settings and logging for one command, checked before the command touches anything."""
from __future__ import annotations

import logging
import os
import re
import sys

from openchannels.cli.console import PROG, redact
from openchannels.cli.failures import CommandError
from openchannels.public_url import check_public_url
from infrastructure.settings import ENVIRONMENT, Settings

LOG_LEVELS = ("debug", "info", "warning", "error")


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValueError as exc:
        if str(exc).startswith("REDIS_SENTINELS"):
            raise CommandError(f"{exc} (see `{PROG} --help` for the variables)") from exc
        # a numeric setting whose value is not a whole number: first one that is no number at all
        suspects = sorted((not _is_number(os.environ[name]), name) for name, default, _ in ENVIRONMENT
                          if default.isdigit() and name in os.environ and not os.environ[name].strip().isdigit())
        if not suspects:
            raise CommandError(f"an environment variable is not a valid number (see `{PROG} --help` for the "
                               "variables)") from exc
        no_number, name = suspects[-1]
        raise CommandError(f"{name}={os.environ[name]!r} is not {'a number' if no_number else 'a whole number'} "
                           f"(see `{PROG} --help` for the variables)") from exc
    if settings.log_level not in LOG_LEVELS:
        raise CommandError(f"LOG_LEVEL={settings.log_level!r}: use one of {', '.join(LOG_LEVELS)}")
    if not re.match(r"^(sqlite|postgres|postgresql|asyncpg|psycopg)://", settings.database_url):
        raise CommandError(f"DATABASE_URL={redact(settings.database_url)!r}: use sqlite://PATH or "
                           "postgres://USER:PASS@HOST:PORT/DB")
    if settings.public_url:
        try:
            check_public_url(settings.public_url)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
    return settings


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def configure_logging(level_name: str) -> None:
    level = getattr(logging, level_name.upper(), logging.INFO) if level_name in LOG_LEVELS else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Tortoise's INFO lines (start-up, shutdown) are noise in a command's output; at debug, its SQL helps
    logging.getLogger("tortoise").setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))
