"""A driver process's result, handed back to the bench through a file, not its stdout.

Why: the bench runs each load driver (`python -m bench.load`, `bench.ingest`, `bench.processes`,
`bench.fanout`, `bench.search_writes`) in a process of its own and reads its result, every
request's latency among it: 40-80 KB for a 10-second slice, about 1 MB for B2. Read from the
driver's stdout, B2's came back cut at 131,072 characters once, with the process's status 0
(bench/HISTORY.md, twenty-fifth pass), and B3's once at 65,535 (the twenty-eighth pass), both at a
multiple of a pipe's buffer; neither was reproduced. A file the driver writes and the bench reads
after the process ended has no such edge, and a driver that ended without writing it is reported
as such, with its stderr.

`python -m bench.<driver> ... --result-file PATH` writes the result there (`add_option`,
`hand_back`); without the option it prints it, for a person running a driver by hand.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
OPTION = "--result-file"


def add_option(parser: argparse.ArgumentParser) -> None:
    """The driver's `--result-file` option."""
    parser.add_argument(OPTION, default="", help="write the result's JSON there (else: print it)")


def hand_back(result: Any, path: str) -> None:
    """In the driver: `result` as JSON into `path`, or on stdout when no path was given."""
    text = json.dumps(result)
    if path:
        Path(path).write_text(text)
    else:
        print(text)


@contextmanager
def result_file() -> Iterator[Path]:
    """In the bench: a path for a driver's result, in a folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="openchannels-bench-driver-") as folder:
        yield Path(folder) / "result.json"


def read_result(path: Path, what: str, stderr: str) -> Any:
    """The result a driver wrote to `path`; a clear error, with the end of its stderr, when it wrote none."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RuntimeError(f"{what} left no result ({error}):\n{stderr[-3000:]}") from None


def run_driver(command: list[str], what: str, *, timeout: float) -> Any:
    """Run a driver's `command` to its end (with `--result-file`) and return the result it wrote."""
    with result_file() as path:
        done = subprocess.run([*command, OPTION, str(path)], capture_output=True, text=True, timeout=timeout,
                              cwd=REPO_ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return read_result(path, what, done.stderr)
