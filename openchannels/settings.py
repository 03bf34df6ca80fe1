"""Configuration, read once from the environment.

Every setting has an embedded default, so `openchannels serve` runs with nothing set:
a SQLite file in the working folder and the in-process event broker.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

#: (variable, default, meaning) — the single list that `openchannels --help` and the README show.
ENVIRONMENT = [
    ("DATABASE_URL", "sqlite://openchannels.sqlite3", "sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB"),
    ("REDIS_URL", "", "redis://HOST:PORT/N; unset: the in-process event broker (one server process)"),
    ("OPENCHANNELS_HOST", "127.0.0.1", "address `serve` listens on"),
    ("OPENCHANNELS_PORT", "8000", "port `serve` listens on"),
    ("OPENCHANNELS_WORKERS", "1", "server processes for `serve` (more than one needs REDIS_URL)"),
    ("LOG_LEVEL", "info", "debug, info, warning or error"),
    ("OPENCHANNELS_ALLOWED_ORIGINS", "*", "comma-separated origins allowed to open a WebSocket"),
    ("TOKEN_TTL_SECONDS", "2592000", "lifetime of a token issued by `login` (CLI tokens do not expire)"),
    ("REDIS_CHANNEL", "openchannels:events", "Redis pub/sub channel that carries events between processes"),
]


def _env(name: str) -> str:
    default = next(d for n, d, _ in ENVIRONMENT if n == name)
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL"))
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL"))
    host: str = field(default_factory=lambda: _env("OPENCHANNELS_HOST"))
    port: int = field(default_factory=lambda: int(_env("OPENCHANNELS_PORT")))
    workers: int = field(default_factory=lambda: int(_env("OPENCHANNELS_WORKERS")))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL").lower())
    allowed_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(o.strip() for o in _env("OPENCHANNELS_ALLOWED_ORIGINS").split(",") if o.strip())
    )
    token_ttl_seconds: int = field(default_factory=lambda: int(_env("TOKEN_TTL_SECONDS")))
    redis_channel: str = field(default_factory=lambda: _env("REDIS_CHANNEL"))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def tortoise_config(database_url: str) -> dict:
    """The Tortoise configuration: one app, `models`, whose migrations live in `models/migrations`."""
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }
