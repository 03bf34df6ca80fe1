"""Running the real `openchannels` command in a subprocess, as a user would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infrastructure.settings import ENVIRONMENT

_SCRIPT = Path(sys.executable).with_name("openchannels")
#: the installed console script next to this interpreter; else the module (same code)
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "openchannels.cli"]


def cli_env(database_url: str, **extra: str) -> dict[str, str]:
    """The caller's environment without any Open Channels setting, pointed at `database_url`."""
    env = {k: v for k, v in os.environ.items() if k not in {name for name, _, _ in ENVIRONMENT}}
    env.update(DATABASE_URL=database_url, LOG_LEVEL="info", **extra)
    return env


def sqlite_url(folder: Path) -> str:
    return f"sqlite://{folder / 'openchannels.sqlite3'}"


def run(folder: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], cwd=folder, env=cli_env(sqlite_url(folder), **extra_env),
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("openchannels: error: "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]
