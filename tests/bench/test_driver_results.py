"""A driver's result reaches the bench through a file (bench/driver_results.py): whole when it is
larger than a pipe holds, and a driver that ended without one is reported with its stderr, not
read as an empty or cut JSON line. The drivers themselves run against real servers in
tests/bench/test_bench_run.py and test_processes_and_writes.py."""
from __future__ import annotations

import sys

import pytest

from bench import driver_results

#: a driver in a line: its result through `hand_back`, to the path `--result-file` gave (argv[2])
WRITES = ("import sys; from bench import driver_results as d; "
          "d.hand_back({'latencies_ms': [12.345678] * 200_000, 'requests': 200_000}, sys.argv[2])")


def test_a_result_larger_than_a_pipe_holds_comes_back_whole() -> None:
    result = driver_results.run_driver([sys.executable, "-c", WRITES], "a driver", timeout=60)

    assert result["requests"] == 200_000
    assert len(result["latencies_ms"]) == 200_000 and result["latencies_ms"][-1] == 12.345678


def test_a_driver_that_wrote_no_result_is_reported_with_its_stderr() -> None:
    leaves = "import sys; print('half a line', end=''); print('no server answered', file=sys.stderr)"

    with pytest.raises(RuntimeError, match=r"a driver left no result(.|\n)*no server answered"):
        driver_results.run_driver([sys.executable, "-c", leaves], "a driver", timeout=60)


def test_a_driver_that_failed_is_reported_with_its_status_and_stderr() -> None:
    fails = "import sys; print('connection refused', file=sys.stderr); sys.exit(3)"

    with pytest.raises(RuntimeError, match=r"a driver failed \(3\)(.|\n)*connection refused"):
        driver_results.run_driver([sys.executable, "-c", fails], "a driver", timeout=60)


def test_without_a_result_file_a_driver_prints_its_result(capsys: pytest.CaptureFixture[str]) -> None:
    driver_results.hand_back({"requests": 3}, "")

    assert capsys.readouterr().out.strip() == '{"requests": 3}'
