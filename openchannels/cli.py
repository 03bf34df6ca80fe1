"""The `openchannels` command: serve, migrate, create-operator, export-schema.

Every failure a user can cause or meet (a domain error, an unreachable database, a bad
argument or environment value) ends as ONE line on stderr, `openchannels: error: ...`, and a
non-zero exit; the traceback goes to the log at LOG_LEVEL=debug only.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import re
import socket
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, NoReturn, Sequence

from openchannels.settings import ENVIRONMENT, Settings

log = logging.getLogger("openchannels.cli")

PROG = "openchannels"
LOG_LEVELS = ("debug", "info", "warning", "error")
#: largest WebSocket message uvicorn accepts (its default, 16 MiB, is far more than a GraphQL operation needs)
WS_MAX_SIZE = 1024 * 1024
EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure explained in one line for the user."""


# ---------------------------------------------------------------- argument parsing


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (with where to look), not usage plus a line."""

    def error(self, message: str) -> NoReturn:
        hint = f"see `{self.prog} --help`"
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} ({hint})\n")


def _environment_help() -> str:
    width = max(len(name) for name, _, _ in ENVIRONMENT)
    lines = ["environment variables (read when a command starts; a flag wins over its variable):"]
    for name, default, meaning in ENVIRONMENT:
        shown = default if default else "(unset)"
        lines.append(f"  {name:<{width}}  default: {shown}")
        lines.append(f"  {'':<{width}}  {meaning}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        formatter_class=formatter,
        description="Open Channels: a contact-center GraphQL backend (queues, chats, operators, live subscriptions).",
        epilog=(
            "examples:\n"
            f"  {PROG} serve --demo                 run with demo data on SQLite; prints tokens\n"
            f"  {PROG} migrate                      apply pending database migrations\n"
            f"  {PROG} create-operator --name Ann --email ann@example.com --role admin\n"
            f"  {PROG} export-schema                write schema.graphql (the SDL)\n"
            f"  {PROG} COMMAND --help               options of one command\n\n"
            + _environment_help()
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.required = True

    serve = commands.add_parser(
        "serve", formatter_class=formatter, help="run the GraphQL server (HTTP and WebSocket)",
        description=(
            "Run the GraphQL server: HTTP POST/GET and WebSocket subscriptions (graphql-transport-ws\n"
            "and graphql-ws) at /graphql, with GraphiQL in the browser.\n\n"
            "On SQLite (the default DATABASE_URL) pending migrations are applied first. On PostgreSQL\n"
            f"run `{PROG} migrate` first: there, migrating is a deliberate step.\n"
            "More than one worker needs REDIS_URL: with the in-process broker, events would not\n"
            "reach subscribers connected to another process."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} serve --demo\n"
            f"  {PROG} serve --host 0.0.0.0 --port 8080\n"
            f"  REDIS_URL=redis://127.0.0.1:6379/0 DATABASE_URL=postgres://oc:secret@127.0.0.1:5432/oc \\\n"
            f"    {PROG} serve --workers 4"
        ),
    )
    serve.add_argument("--host", help="address to listen on (default: $OPENCHANNELS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: $OPENCHANNELS_PORT or 8000)")
    serve.add_argument("--workers", type=int,
                       help="server processes (default: $OPENCHANNELS_WORKERS or 1; more than 1 needs REDIS_URL)")
    serve.add_argument("--demo", action="store_true",
                       help="seed demo operators, open channels and chats when the database has no operators "
                            "yet, and print their tokens")
    serve.set_defaults(handler=command_serve)

    migrate = commands.add_parser(
        "migrate", formatter_class=formatter, help="apply pending database migrations",
        description="Apply every pending migration (models/migrations) to DATABASE_URL, printing each one.",
        epilog=(
            "examples:\n"
            f"  {PROG} migrate\n"
            f"  DATABASE_URL=postgres://oc:secret@127.0.0.1:5432/oc {PROG} migrate"
        ),
    )
    migrate.set_defaults(handler=command_migrate)

    create = commands.add_parser(
        "create-operator", formatter_class=formatter, help="create an operator and print an API token",
        description=(
            "Create an operator (applying pending migrations first) and print a new API token that\n"
            "never expires as the LAST line of the output. Send it as `Authorization: Bearer <token>`.\n"
            "Without --password the operator signs in by token only (no `login`)."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG} create-operator --name 'Ann Lee' --email ann@example.com --role admin\n"
            f"  TOKEN=$({PROG} create-operator --name Bob --email bob@example.com | tail -n 1)\n\n"
            "note: a password given on the command line is visible to other local users (ps, shell\n"
            "history); prefer tokens, or change it later."
        ),
    )
    create.add_argument("--name", required=True, help="display name")
    create.add_argument("--email", required=True, help="e-mail address (unique, case-insensitive)")
    create.add_argument("--role", default="OPERATOR", metavar="ROLE",
                        help="OPERATOR, SUPERVISOR or ADMIN, in any case (default: OPERATOR)")
    create.add_argument("--password", help="password for the `login` mutation (at least 8 characters)")
    create.set_defaults(handler=command_create_operator)

    export = commands.add_parser(
        "export-schema", formatter_class=formatter, help="write the GraphQL schema (SDL)",
        description="Write the GraphQL schema in SDL, as served, to a file (or stdout with `--output -`).",
        epilog=(
            "examples:\n"
            f"  {PROG} export-schema                       writes ./schema.graphql\n"
            f"  {PROG} export-schema --output - | less\n"
            f"  {PROG} export-schema --output /tmp/s.graphql && diff -u schema.graphql /tmp/s.graphql"
        ),
    )
    export.add_argument("--output", default="schema.graphql", metavar="PATH",
                        help="file to write, `-` for stdout (default: schema.graphql in the current folder)")
    export.set_defaults(handler=command_export_schema)
    return parser


# ---------------------------------------------------------------- helpers


def redact(url: str) -> str:
    """A database or Redis URL without its password, for messages."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def say(line: str = "") -> None:
    print(line, flush=True)


def note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValueError as exc:
        culprit = next((f"{name}={os.environ[name]!r}" for name, default, _ in ENVIRONMENT
                        if default.isdigit() and name in os.environ and not os.environ[name].strip().isdigit()),
                       "an environment variable")
        raise CommandError(f"{culprit} is not a whole number (see `{PROG} --help` for the variables)") from exc
    if settings.log_level not in LOG_LEVELS:
        raise CommandError(f"LOG_LEVEL={settings.log_level!r}: use one of {', '.join(LOG_LEVELS)}")
    if not re.match(r"^(sqlite|postgres|postgresql|asyncpg|psycopg)://", settings.database_url):
        raise CommandError(f"DATABASE_URL={redact(settings.database_url)!r}: use sqlite://PATH or "
                           "postgres://USER:PASS@HOST:PORT/DB")
    return settings


def configure_logging(level_name: str) -> None:
    level = getattr(logging, level_name.upper(), logging.INFO) if level_name in LOG_LEVELS else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Tortoise's INFO lines (start-up, shutdown) are noise in a command's output; at debug, its SQL helps
    logging.getLogger("tortoise").setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    """Tortoise connected for one command, and closed again whatever happens."""
    from openchannels.database import close_database, init_database

    try:
        await init_database(settings)
        yield
    finally:
        await close_database()


async def migrate_database(settings: Settings, progress: Callable[[str], None]) -> int:
    """Apply pending migrations; returns how many were applied."""
    from openchannels.database import apply_migrations, close_database

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


# ---------------------------------------------------------------- migrate


def command_migrate(args: argparse.Namespace, settings: Settings) -> int:
    say(f"migrating {redact(settings.database_url)}")
    applied = asyncio.run(migrate_database(settings, say))
    say(migration_summary(applied))
    return 0


# ---------------------------------------------------------------- create-operator


async def _create_operator(settings: Settings, *, name: str, email: str, role: str, password: str | None):
    from services.auth import issue_token
    from services.operators import parse_role, register_operator

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


# ---------------------------------------------------------------- export-schema


def schema_sdl() -> str:
    try:
        from schema import schema
    except ImportError as exc:
        log.debug("cannot import the schema", exc_info=True)
        raise CommandError(f"cannot import the GraphQL schema (`from schema import schema`): {exc}") from exc
    return str(schema).rstrip("\n") + "\n"


def command_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    sdl = schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
        sys.stdout.flush()
        return 0
    path = Path(args.output)
    try:
        path.write_text(sdl, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
    note(f"wrote {path} ({len(sdl.splitlines())} lines)")
    return 0


# ---------------------------------------------------------------- serve


def browser_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to `host`."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _check_port(host: str, port: int) -> None:
    """Fail in one line, before migrating or seeding, when the address is taken (uvicorn would log several)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


async def _check_redis(url: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        await client.ping()
    except Exception as exc:
        log.debug("Redis ping failed", exc_info=True)
        raise CommandError(f"cannot reach Redis at {redact(url)}: {exc}") from exc
    finally:
        await client.aclose()


async def _prepare_demo(settings: Settings) -> dict[str, Any]:
    """Seed on an empty database; otherwise a fresh token for the demo admin, if there is one."""
    from models import Operator
    from services.auth import issue_token
    from services.demo import ADMIN_EMAIL, ADMIN_PASSWORD, seed_demo

    async with database(settings):
        if not await Operator.exists():
            return {"seeded": True, **await seed_demo()}
        admin = await Operator.get_or_none(email=ADMIN_EMAIL)
        if admin is None:
            return {"seeded": False}
        return {"seeded": False, "admin": {"id": admin.id, "name": admin.name, "email": admin.email,
                                           "role": admin.role.value, "password": ADMIN_PASSWORD,
                                           "token": await issue_token(admin.id)}}


def print_demo(demo: dict[str, Any], url: str) -> None:
    from schema.ids import to_global_id  # the API's ids are opaque global ids

    admin = demo.get("admin")
    if demo["seeded"]:
        say("demo data created (on an empty database only: `serve --demo` never seeds twice)")
    elif admin:
        say("the database already has operators: demo data not seeded again; a new token for the demo admin:")
    else:
        say(f"the database already has operators: demo data not seeded; get a token with `{PROG} create-operator`")
        return
    say("")
    say(f"admin token: {admin['token']}")
    say(f"  {admin['name']} <{admin['email']}>, ADMIN, password {admin['password']}")
    if demo["seeded"]:
        supervisor = demo["supervisor"]
        say(f"supervisor token: {supervisor['token']}")
        say(f"  {supervisor['name']} <{supervisor['email']}>, SUPERVISOR, password {supervisor['password']}")
        say("operator tokens:")
        for person in demo["operators"]:
            say(f"  {person['token']}  {person['name']} <{person['email']}>, password {person['password']}")
        say("open channels (GraphQL id):")
        for channel in demo["open_channels"]:
            say(f"  {to_global_id('OpenChannel', channel['id'])}  {channel['name']} "
                f"({channel['distribution']}, {len(channel['operator_ids'])} operators)")
        say("chats (GraphQL id):")
        for chat in demo["chats"]:
            say(f"  {to_global_id('Chat', chat['id'])}  {chat['title']}: {chat['status']}")
        visitor = demo["visitor"]
        say(f"visitor token ({visitor['name']}'s chat): {visitor['token']}")
    say("")
    say("in GraphiQL, under Headers:  {\"Authorization\": \"Bearer " + admin["token"] + "\"}")
    say("or with curl:")
    say(f"  curl -s {url} -H 'Authorization: Bearer {admin['token']}' -H 'Content-Type: application/json' \\")
    say("    -d '{\"query\": \"{ me { operator { name role } } openChannels { id name queueLength } }\"}'")
    say("")


def server_log_config(level_name: str) -> dict[str, Any]:
    """uvicorn's logging plus ours; uvicorn applies it in every worker process, not just this one."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["named"] = {"()": "uvicorn.logging.DefaultFormatter",
                                     "fmt": "%(levelprefix)s %(name)s: %(message)s", "use_colors": None}
    config["handlers"]["named"] = {"formatter": "named", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    level = level_name.upper()
    config["loggers"]["openchannels"] = {"handlers": ["named"], "level": level, "propagate": False}
    # Tortoise's INFO lines are noise; at debug its SQL helps
    config["loggers"]["tortoise"] = {"handlers": ["named"], "propagate": False,
                                     "level": "WARNING" if level == "INFO" else level}
    return config


def command_serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host if args.host is not None else settings.host
    port = args.port if args.port is not None else settings.port
    workers = args.workers if args.workers is not None else settings.workers
    if not 1 <= port <= 65535:
        raise CommandError(f"port {port} is out of range (1-65535)")
    if workers < 1:
        raise CommandError(f"{workers} workers: at least one is needed")
    if workers > 1 and not settings.redis_url:
        raise CommandError(f"{workers} workers need REDIS_URL: without Redis, events would not cross processes "
                           "(set REDIS_URL=redis://HOST:PORT/0 or use --workers 1)")
    _check_port(host, port)
    if settings.redis_url:
        asyncio.run(_check_redis(settings.redis_url))
    if settings.is_sqlite:
        say(f"migrating {redact(settings.database_url)}")
        say(migration_summary(asyncio.run(migrate_database(settings, say))))
    url = f"http://{browser_host(host)}:{port}/graphql"
    if args.demo:
        print_demo(asyncio.run(_prepare_demo(settings)), url)
    say(f"GraphiQL: {url}")
    broker = "Redis " + redact(settings.redis_url) if settings.redis_url else "in-process (one server process)"
    say(f"database: {redact(settings.database_url)}; events: {broker}; workers: {workers}")

    import uvicorn

    uvicorn.run(
        "openchannels.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_level=settings.log_level, log_config=server_log_config(settings.log_level), ws_max_size=WS_MAX_SIZE,
    )
    return 0


# ---------------------------------------------------------------- entry point


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def explain(exc: Exception, settings: Settings | None) -> str:
    """The one line a user sees for a failure."""
    from services.errors import DomainError
    from tortoise.exceptions import ConfigurationError, DBConnectionError, OperationalError

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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        return args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        configure_logging(os.environ.get("LOG_LEVEL", "info").lower())
        log.debug("%s %s failed", PROG, args.command, exc_info=True)
        print(f"{PROG}: error: {explain(exc, settings)}", file=sys.stderr, flush=True)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
