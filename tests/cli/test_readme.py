"""The README's configuration table and commands stay true to the code and to CI."""
from __future__ import annotations

from pathlib import Path

from infrastructure.settings import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
RUN_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/openchannels serve --demo"
TEST_COMMAND = 'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest'


def test_the_configuration_table_is_the_environment_list():
    readme = (ROOT / "README.md").read_text()
    names = [name for name, _, _ in ENVIRONMENT]
    rows = [line for line in readme.splitlines() if any(line.startswith(f"| `{name}` |") for name in names)]
    expected = [f"| `{name}` | {f'`{default}`' if default else '(unset)'} | {meaning} |"
                for name, default, meaning in ENVIRONMENT]

    assert rows == expected


def test_the_quick_start_commands_are_the_ones_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()

    assert f"   {RUN_COMMAND}\n" in readme
    assert f"   {TEST_COMMAND}\n" in readme
    assert f"\n{TEST_COMMAND}\n" in ci
