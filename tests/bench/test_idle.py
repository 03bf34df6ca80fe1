"""B2 idle beyond one process's open-file limit: the connections spread over driver processes
and server workers, the memory summed over the server's processes, the rows saying how many
processes served them. tests/bench/test_bench_run.py runs B2 idle itself at one process."""
from __future__ import annotations

import os
import socket

import pytest

from bench.fanout import idle_capacity, idle_rows, socket_count
from bench.run import main


def process(pid: int, role: str, rss: tuple[int, int], sockets: tuple[int, int]) -> dict:
    return {"pid": pid, "role": role, "rss_before_kib": rss[0], "rss_after_kib": rss[1],
            "sockets_before": sockets[0], "sockets_after": sockets[1]}


def test_two_workers_memory_is_summed_over_every_process_and_the_spread_is_shown() -> None:
    result = {"connections": 20_000, "drivers": 2, "warm_rounds": 1, "warmed": [11, 12], "broken": 0,
              "processes": [process(10, "supervisor", (20_000, 20_100), (3, 3)),
                            process(11, "worker", (100_000, 480_000), (20, 10_020)),
                            process(12, "worker", (100_000, 470_000), (20, 10_020))],
              "kib_per_connection": (100 + 380_000 + 370_000) / 20_000}
    rows = {row.figure: row for row in idle_rows(result)}
    memory = rows["KiB per connection"]
    assert memory.benchmark == "B2 idle (20000 connections x 3 subscriptions, 2 server processes)"
    assert memory.value == 37.5 and memory.target == "<= 40 KiB" and memory.verdict == "pass"
    assert "supervisor 20000 -> 20100 KiB" in memory.note
    assert "worker 100000 -> 480000 KiB (10000 connections, 38.0 KiB each)" in memory.note
    assert "held by 2 driver processes" in memory.note
    spread = rows["connections per process"]
    assert spread.benchmark == memory.benchmark and spread.value == "10000 / 10000"
    assert "50%" in spread.note


def test_one_process_keeps_its_row_and_an_uneven_or_cold_spread_is_said() -> None:
    one = {"connections": 3_000, "drivers": 1, "warm_rounds": 1, "warmed": [11], "broken": 0,
           "processes": [process(11, "worker", (100_000, 223_000), (20, 3_020))], "kib_per_connection": 41.0}
    [row] = idle_rows(one)
    assert row.benchmark == "B2 idle (3000 connections x 3 subscriptions)"
    assert (row.value, row.verdict, row.note) == (41.0, "FAIL", "server VmRSS 100000 -> 223000 KiB")

    uneven = {"connections": 1_000, "drivers": 1, "warm_rounds": 5, "warmed": [11], "broken": 3,
              "processes": [process(11, "worker", (0, 30_000), (5, 805)), process(12, "worker", (0, 8_000), (5, 205))],
              "kib_per_connection": 38.0}
    rows = {row.figure: row for row in idle_rows(uneven)}
    assert rows["connections per process"].value == "800 / 200" and "80%" in rows["connections per process"].note
    assert "the warm-up reached 1 of 2 workers in 5 rounds" in rows["KiB per connection"].note
    assert "3 connections closed while held" in rows["KiB per connection"].note


def test_more_idle_connections_than_one_process_may_open_are_refused_with_the_workers_that_hold_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert idle_capacity(2) == 2 * idle_capacity(1)
    with pytest.raises(SystemExit) as exit_:
        main(["--only", "B2", "--idle-connections", str(idle_capacity(1) + 1)])
    assert exit_.value.code == 2
    assert "--workers 2 spreads them" in capsys.readouterr().err


def test_sockets_of_a_process_are_counted() -> None:
    before = socket_count(os.getpid())
    left, right = socket.socketpair()
    try:
        assert socket_count(os.getpid()) == before + 2
    finally:
        left.close()
        right.close()
    assert socket_count(os.getpid()) == before
