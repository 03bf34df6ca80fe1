"""A test run leaves nothing behind in PostgreSQL or Redis, and the end-of-run check notices
when something is left (tests/resources.py, `pytest_sessionfinish` in tests/conftest.py).

A subset of the suite that makes every kind of thing (the session database, an e2e
deployment's database and the template it is copied from, with its servers' rate-limit
counters in Redis, the CLI test's database, a rate limiter's Redis keys), each by the
cheapest test that makes it, runs in one pytest subprocess under a run id of this
test's own, beside a database and a Redis key planted under that run id as if a fixture had
forgotten them. The run must fail naming exactly the two planted things (so its own fixtures
left nothing) and afterwards nothing of that run id may exist.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis.asyncio as redis

from tests.resources import DATABASE_PREFIX, TEST_REDIS_URL, create_database, leftovers, remove_leftovers

REPO_ROOT = Path(__file__).resolve().parents[1]

SUBSET = [
    "tests/services/test_auth.py::test_the_password_is_stored_only_as_a_salted_hash[postgres]",
    # one server of its own (login counters in Redis) beside the deployment's
    "tests/e2e/test_rate_limits.py::test_without_a_trusted_proxy_x_forwarded_for_is_ignored[postgres]",
    "tests/limits/test_rate_limiter.py::test_the_call_over_the_limit_is_refused_with_the_seconds_left[redis]",
    "tests/cli/test_commands.py::test_migrate_and_create_operator_on_postgresql",
]


async def test_a_run_leaves_nothing_behind_and_the_check_names_what_is_left(request: pytest.FixtureRequest):
    run_id = "t" + uuid.uuid4().hex[:9]
    assert not DATABASE_PREFIX.startswith(f"openchannels_test_{run_id}_")  # not this run's id
    planted_database = f"openchannels_test_{run_id}_planted"
    planted_key = f"openchannels-test:{run_id}:planted"
    await create_database(planted_database)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        await client.set(planted_key, "forgotten")
    finally:
        await client.aclose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env["TEST_RUN_ID"] = run_id
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUBSET]
    if request.config.pluginmanager.hasplugin("xdist"):
        command[3:3] = ["-n", "0"]
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        after = await leftovers(run_id)
    finally:
        await remove_leftovers(run_id)

    output = done.stdout + done.stderr
    assert re.search(rf"\b{len(SUBSET)} passed\b", output) and " failed" not in output, output[-4000:]
    assert done.returncode == 1, output[-4000:]  # the tests passed: the check failed the run
    assert (f"openchannels: run {run_id} LEFT 1 database(s) and 1 Redis key(s) behind (now removed): "
            f"databases [{planted_database!r}], keys [{planted_key!r}]") in output, output[-4000:]
    assert after == ([], [])
