"""`python -m bench.instructions` on a tiny seed: the instructions of sendMessage, ours and the
hand-written endpoint's, counted under valgrind's callgrind in windows that hold the counted
requests only (not the start-up, not the warm-up)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.seeded import seeded_database
from tests.resources import TEST_POSTGRES_URL, TEST_REDIS_URL

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None or not Path("/usr/include/valgrind/callgrind.h").exists(),
                                reason="valgrind (Debian's package valgrind) is not installed")


def _count(database: str, requests: int) -> tuple[float, float]:
    command = [sys.executable, "-m", "bench.instructions", "--scale", "0.002", "--database", database,
               "--requests", str(requests), "--warmup", "24", "--writers", "3", "--only", "sendMessage"]
    env = {**os.environ, "BENCH_POSTGRES_URL": TEST_POSTGRES_URL, "BENCH_REDIS_URL": TEST_REDIS_URL}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    row = re.search(r"^B3 sendMessage\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)$", done.stdout, re.M)
    assert row is not None, done.stdout
    return float(row.group(1).replace(",", "")), float(row.group(2).replace(",", ""))


async def test_instructions_per_message_are_counted_for_the_server_and_the_endpoint() -> None:
    async with seeded_database("bench_instructions") as (url, _):
        ours, endpoint = _count(url.rsplit("/", 1)[-1], 24)
    # a message through GraphQL, the use case and its events takes hundreds of thousands of
    # instructions, the endpoint's fewer; the whole process's start-up (billions) is outside the window
    assert 200_000 < ours < 20_000_000
    assert 100_000 < endpoint < ours
