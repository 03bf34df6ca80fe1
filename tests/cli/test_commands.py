"""The `openchannels` command, run as a real subprocess on a SQLite file in the test's folder.

What a user sees matters here: the token as the last line, one-line errors without a
traceback, the environment variables in --help.
"""
from __future__ import annotations

import socket
import subprocess

import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext

from bench.ports import free_port
from models import OperatorRole
from infrastructure.settings import ENVIRONMENT, tortoise_config
from services.identity.auth import authenticate
from tests.cli.running import COMMAND, assert_one_line_error, cli_env, run, sqlite_url


def test_help_lists_every_environment_variable_with_its_default(tmp_path):
    result = run(tmp_path, "--help")

    assert result.returncode == 0, result.stderr
    for name, default, meaning in ENVIRONMENT:
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(name))
        assert (default or "(unset)") in line
        assert meaning in result.stdout
    for command in ("serve", "migrate", "create-operator", "export-schema"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["serve", "migrate", "create-operator", "export-schema"])
def test_every_command_has_a_help_with_examples(tmp_path, command):
    result = run(tmp_path, command, "--help")

    assert result.returncode == 0, result.stderr
    assert "examples:" in result.stdout
    assert f"openchannels {command}" in result.stdout


def test_migrate_applies_the_migrations_once(tmp_path):
    first = run(tmp_path, "migrate")
    second = run(tmp_path, "migrate")

    assert first.returncode == 0, first.stderr
    assert "applying models.0001_initial" in first.stdout
    assert first.stdout.strip().endswith("database is up to date")
    assert second.returncode == 0, second.stderr
    assert "applying" not in second.stdout
    assert second.stdout.strip().splitlines()[-1] == "no pending migrations: database is up to date"


async def test_create_operator_prints_a_token_that_authenticates(tmp_path):
    assert run(tmp_path, "migrate").returncode == 0

    result = run(tmp_path, "create-operator", "--name", "Sue Visor", "--email", "Sue@Example.test",
                 "--role", "supervisor")

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("oc_") and " " not in token
    EXECUTOR_CACHE.clear()  # statements cached per connection name may be another backend's
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(sqlite_url(tmp_path)))
        viewer = await authenticate(f"Bearer {token}")
    assert viewer.role == OperatorRole.SUPERVISOR
    assert viewer.operator_id is not None


def test_create_operator_migrates_a_fresh_database_itself(tmp_path):
    result = run(tmp_path, "create-operator", "--name", "Ann", "--email", "ann@example.test", "--role", "ADMIN",
                 "--password", "long enough")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("oc_")
    assert "ADMIN" in result.stdout


def test_a_duplicate_email_is_one_line_error(tmp_path):
    assert run(tmp_path, "create-operator", "--name", "Ann", "--email", "ann@example.test").returncode == 0

    result = run(tmp_path, "create-operator", "--name", "Ann again", "--email", "ANN@example.test")

    assert_one_line_error(result, "ann@example.test", "already exists")
    assert result.stdout == ""


def test_a_bad_role_is_one_line_error(tmp_path):
    result = run(tmp_path, "create-operator", "--name", "Ann", "--email", "ann@example.test", "--role", "boss")

    assert_one_line_error(result, "boss", "OPERATOR, SUPERVISOR or ADMIN")


def test_a_bad_argument_is_one_line_error(tmp_path):
    assert_one_line_error(run(tmp_path, "serve", "--port", "eighty"), "--port")
    assert_one_line_error(run(tmp_path, "create-operator", "--name", "Ann"), "--email")
    assert_one_line_error(run(tmp_path, "frobnicate"), "frobnicate")


def test_an_unreachable_database_is_one_line_error(tmp_path):
    result = subprocess.run(
        [*COMMAND, "migrate"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=cli_env("postgres://someone:secret@127.0.0.1:1/nothing"), stdin=subprocess.DEVNULL,
    )

    line = assert_one_line_error(result, "cannot reach the database")
    assert "secret" not in line


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_serve_refuses_several_workers_without_redis(tmp_path, how):
    if how == "flag":
        result = run(tmp_path, "serve", "--workers", "2")
    else:
        result = run(tmp_path, "serve", OPENCHANNELS_WORKERS="2")

    assert_one_line_error(result, "REDIS_URL", "2 workers")
    assert not (tmp_path / "openchannels.sqlite3").exists()  # refused before touching anything


def test_a_sentinel_list_that_is_not_host_port_is_one_line_error(tmp_path):
    result = run(tmp_path, "serve", REDIS_SENTINELS="10.0.0.5:26379,sentinel-b:port")

    assert_one_line_error(result, "REDIS_SENTINELS", "'sentinel-b:port' is not HOST:PORT")


def test_serve_with_unreachable_sentinels_is_one_line_error_naming_them(tmp_path):
    port = free_port()  # a port where nothing listens
    listen = free_port()  # where it would listen: not 8000, which something else may hold
    result = run(tmp_path, "serve", "--workers", "2", "--port", str(listen), REDIS_SENTINELS=f"127.0.0.1:{port}",
                 REDIS_SENTINEL_MASTER="events", REDIS_URL="redis://:secret@old-master:6379/0")

    line = assert_one_line_error(result, f"cannot reach Redis master 'events' of the Sentinels 127.0.0.1:{port}")
    assert "secret" not in line
    assert not (tmp_path / "openchannels.sqlite3").exists()  # refused before touching anything


def test_serve_on_a_taken_port_is_one_line_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run(tmp_path, "serve", "--port", str(port))

    assert_one_line_error(result, f"127.0.0.1:{port}")


def test_export_schema_prints_the_sdl(tmp_path):
    result = run(tmp_path, "export-schema", "--output", "-")

    assert result.returncode == 0, result.stderr
    assert "type Query" in result.stdout
    assert result.stdout.endswith("}\n")


def test_export_schema_writes_schema_graphql_by_default(tmp_path):
    result = run(tmp_path, "export-schema")

    assert result.returncode == 0, result.stderr
    written = (tmp_path / "schema.graphql").read_text()
    assert "type Query" in written
    assert written.endswith("\n") and not written.endswith("\n\n")
    assert written == run(tmp_path, "export-schema", "--output", "-").stdout


async def test_migrate_and_create_operator_on_postgresql(tmp_path):
    """The committed migrations themselves (the other tests build tables from the models) on PostgreSQL."""
    from tests.resources import create_database, database_name, drop_database

    name = database_name("cli")
    env = cli_env(await create_database(name))
    try:
        migrate = subprocess.run([*COMMAND, "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True,
                                 timeout=120, stdin=subprocess.DEVNULL)
        create = subprocess.run([*COMMAND, "create-operator", "--name", "Pat", "--email", "pat@example.test"],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)
    finally:
        await drop_database(name)

    assert migrate.returncode == 0, migrate.stderr
    assert "applying models.0001_initial" in migrate.stdout
    assert create.returncode == 0, create.stderr
    assert create.stdout.strip().splitlines()[-1].startswith("oc_")
