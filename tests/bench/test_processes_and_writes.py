"""The parts of B4w (search under writes) and B8 (processes that add up) that need no bench run:
the flags, the server's CPU summed over its processes from /proc, the writers' window, and the
rows with their targets and verdicts. tests/bench/test_bench_run.py runs the bench itself."""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Awaitable, Callable

import pytest

from bench.load import LoadResult
from bench.processes import (CPU_TARGET, Measured, compare_processes, control_row, cpu_spent, process_rows,
                             process_tree, share, switches_made, switches_of, tree_cpu)
from bench.run import main
from bench.search_writes import search_writes_rows, write_until_stopped

#: a process that burns 0.3 s of CPU, then says so and sleeps; its child does the same under a
#: command name with a space and parentheses (/proc/<pid>/stat's second field is parsed around it)
BURN = "import time\nwhile time.process_time() < 0.3: pass\nprint('burnt', flush=True)\ntime.sleep(60)\n"
PARENT = f"""
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "open('/proc/self/comm', 'w').write('b) u (rn')\\n" + {BURN!r}],
                         stdout=sys.stdout)
print(child.pid, flush=True)
exec({BURN!r})
"""


def test_an_unknown_benchmark_is_refused_and_b4w_b8_are_known(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--only", "B4,B9"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "unknown benchmark(s): B9" in error and "B4W" in error and "B8" in error

    # known (in any case), so the parser goes on to the next check: --workers below 1 is refused
    with pytest.raises(SystemExit) as exit_:
        main(["--only", "b4w,B8", "--workers", "0"])
    assert exit_.value.code == 2
    assert "--workers 0: at least one process is needed" in capsys.readouterr().err


def test_help_names_the_new_rows_and_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "B4W is B4 under B3's writes" in text and "--workers WORKERS" in text and "uvicorn --workers N" in text


def test_the_cpu_of_a_process_tree_adds_up_every_process() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert {parent.stdout.readline().strip() for _ in range(2)} == {"burnt"}  # both burnt their 0.3 s

        assert process_tree(parent.pid) == [parent.pid, child]
        since_birth = tree_cpu(parent.pid)
        assert set(since_birth) == {parent.pid, child}
        assert since_birth[parent.pid] >= 0.28 and since_birth[child] >= 0.28  # the odd name parsed
        assert sum(cpu_spent({}, since_birth).values()) >= 0.56

        time.sleep(0.2)  # both asleep: nothing more spent
        assert sum(cpu_spent(since_birth, tree_cpu(parent.pid)).values()) < 0.05
    finally:
        if child:
            subprocess.run(["kill", str(child)])
        parent.kill()
        parent.wait()
    assert tree_cpu(parent.pid) == {}  # a process gone is not counted (nor its orphaned child: not its tree)


def test_a_process_tree_s_sleeps_and_preemptions_are_counted() -> None:
    """A process that sleeps 100 times makes at least 100 voluntary context switches; the counts
    between two reads are what it made meanwhile."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys, time\nsys.stdin.readline()\n"
                                "for _ in range(100): time.sleep(0.002)\nprint('slept', flush=True)\ntime.sleep(60)\n"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sleeper.stdin is not None and sleeper.stdout is not None
        before = switches_of(process_tree(sleeper.pid))
        assert set(before) == {sleeper.pid} and all(count >= 0 for count in before[sleeper.pid])
        sleeper.stdin.write("go\n")
        sleeper.stdin.flush()
        assert sleeper.stdout.readline().strip() == "slept"
        made = switches_made(before, switches_of(process_tree(sleeper.pid)))[sleeper.pid]
        assert made[0] >= 100 and made[1] >= 0, made
    finally:
        sleeper.kill()
        sleeper.wait()
    assert switches_of(process_tree(sleeper.pid)) == {}


def slice_answer(requests: int, cpu: dict[int, float], rps: float, root: int = 1,
                 switches: dict[int, tuple[int, int]] | None = None) -> dict:
    result = LoadResult(requests=requests, failures=0, seconds=requests / rps, requests_per_second=rps, p50_ms=5.0,
                        p99_ms=20.0, latencies_ms=[5.0] * requests)
    answer = {"result": asdict(result), "cpu": {str(pid): seconds for pid, seconds in cpu.items()}, "root": root}
    if switches is not None:
        answer["switches"] = {str(pid): list(made) for pid, made in switches.items()}
    return answer


def test_b8_rows_divide_every_process_cpu_by_the_requests_and_judge_against_one_process() -> None:
    one = Measured(roles={10: "worker"})
    for _ in range(2):  # two slices: 2,000 requests, 4 s of CPU: 2 ms per request
        one.add(slice_answer(1000, {10: 2.0}, 1000))
    within = Measured(roles={20: "supervisor", 21: "worker", 22: "worker"})
    within.add(slice_answer(1000, {20: 0.01, 21: 1.09, 22: 1.0}, 1100))  # 2.1 ms per request
    rows = {row.figure: row for row in process_rows("B3 sendMessage (8 operators)", one, within, 2)}

    cpu = rows["server CPU ms/request"]
    assert cpu.benchmark == "B8 B3 sendMessage (8 operators), 2 processes vs 1"
    assert (cpu.value, cpu.baseline, cpu.ratio) == (2.1, 2.0, 1.05)
    assert cpu.target == f"<= {CPU_TARGET:.2f} x 1 process" and cpu.verdict == "pass"
    assert cpu.note == ("CPU s by process: supervisor 0.01, worker 1.09, worker 1.00; by slice: every worker "
                        "busy in 1 slice, 2.100 ms/request, the load on fewer workers in no slice; "
                        "at 1: CPU s by process: worker 4.00")
    assert (rows["requests/s"].value, rows["requests/s"].baseline, rows["requests/s"].ratio) == (1100.0, 1000.0, 1.1)
    assert (rows["failed requests"].value, rows["failed requests"].baseline) == ("0/1000", "0/2000")

    beyond = Measured(roles={20: "supervisor", 21: "worker", 22: "worker"})
    beyond.add(slice_answer(1000, {20: 0.01, 21: 1.2, 22: 1.0}, 900))  # 2.21 ms: 1.105 x
    cpu = process_rows("B3 sendMessage (8 operators)", one, beyond, 2)[0]
    assert cpu.ratio == 1.105 and cpu.verdict == "FAIL"


def test_b8_note_tells_slices_with_every_worker_busy_from_slices_on_one_worker() -> None:
    """The kernel hands a slice's connections to both workers, or all of them to one: the note gives
    the CPU per request of each kind of slice (on 2 cores, both workers busy is the dearer)."""
    many = Measured(roles={20: "supervisor", 21: "worker", 22: "worker"})
    many.add(slice_answer(1000, {20: 0.01, 21: 0.69, 22: 0.7}, 700))  # both busy: 1.4 ms
    many.add(slice_answer(1000, {20: 0.0, 21: 0.02, 22: 1.08}, 800))  # one (the other's 0.02 s is idle)
    many.add(slice_answer(1000, {20: 0.0, 21: 1.12, 22: 0.0}, 800))  # the other one: 1.1 ms together
    one = Measured(roles={10: "worker"})
    one.add(slice_answer(1000, {10: 1.1}, 800))
    cpu = process_rows("B3 sendMessage (8 operators)", one, many, 2)[0]
    assert ("; by slice: every worker busy in 1 slice, 1.400 ms/request, the load on fewer workers in 2 slices, "
            "1.110 ms/request; at 1:") in cpu.note
    # one process: no such note
    assert "by slice" not in process_rows("B3", many, one, 2)[0].note


def test_b8_note_gives_the_workers_sleeps_and_preemptions_per_request_by_kind_of_slice() -> None:
    """Where a busy slice's CPU goes: a worker preempted (involuntary switches) comes back to cold
    caches; one that sleeps more often per request (voluntary ones) batches less. The supervisor's
    switches are not a worker's."""
    many = Measured(roles={20: "supervisor", 21: "worker", 22: "worker"})
    many.add(slice_answer(1000, {20: 0.01, 21: 0.69, 22: 0.7}, 700,
                          switches={20: (50, 0), 21: (1000, 600), 22: (1100, 700)}))  # both busy
    many.add(slice_answer(1000, {20: 0.0, 21: 0.02, 22: 1.08}, 800,
                          switches={20: (50, 0), 21: (30, 0), 22: (1500, 100)}))  # one
    one = Measured(roles={10: "worker"})
    one.add(slice_answer(2000, {10: 2.2}, 800, switches={10: (3000, 180)}))
    note = process_rows("B3 sendMessage (8 operators)", one, many, 2)[0].note
    assert ("every worker busy in 1 slice, 1.400 ms/request (2.10 sleeps and 1.30 preemptions per request), "
            "the load on fewer workers in 1 slice, 1.100 ms/request (1.53 sleeps and 0.10 preemptions per request); "
            "at 1: CPU s by process: worker 2.20 (1.50 sleeps and 0.09 preemptions per request)") in note
    control = control_row("B3", one, many, 2, "4 writers")
    assert control.note.endswith("worker 2.20 (1.50 sleeps and 0.09 preemptions per request)")


def test_b8_control_is_one_process_at_one_process_share_of_the_load() -> None:
    assert [share(7, 2), share(8, 2), share(16, 2), share(16, 3), share(1, 2)] == [4, 4, 8, 6, 1]
    calls: list[tuple[str, float, float]] = []

    def side(name: str, cpu: float) -> Callable[[float, float], dict]:
        def drive(duration: float, warmup: float) -> dict:
            calls.append((name, duration, warmup))
            return slice_answer(500, {10: cpu}, 500)
        return drive

    args = argparse.Namespace(duration=6.0, rounds=2)
    measured = compare_processes({1: [side("one", 1.0)], 2: [side("two", 1.1)], "share": [side("share", 1.2)]}, args)
    # an unmeasured slice on each side, then the sides in turn, the second round backwards
    assert [name for name, _, _ in calls] == ["one", "two", "share", "one", "two", "share", "share", "two", "one"]
    assert [duration for _, duration, _ in calls[3:]] == [3.0] * 6
    assert measured["share"].cpu_ms_per_request == 2.4 and measured[2].cpu_ms_per_request == 2.2

    row = control_row("B3 sendMessage (7 operators)", measured["share"], measured[2], 2, "4 writers")
    assert (row.benchmark, row.figure) == ("B8 B3 sendMessage (7 operators), 2 processes vs 1",
                                           "server CPU ms/request, 1 process at 4 writers")
    assert (row.value, row.baseline, row.ratio, row.verdict) == (2.2, 2.4, 0.917, "pass")
    assert row.note == "at 1 process and 4 writers: 500.0 requests/s, CPU s by process: worker 2.40"
    assert control_row("B3", measured[1], measured["share"], 2, "4 writers").verdict == "FAIL"  # 2.4 / 2.0


def test_b8_one_process_side_takes_its_servers_in_turn_one_per_slice() -> None:
    """With a CPU per process, the one-process side is a server on each CPU the N hold: each is
    warmed, then they take the side's slices in turn, and their CPU and requests add up."""
    calls: list[str] = []

    def side(name: str, cpu: float) -> Callable[[float, float], dict]:
        def drive(duration: float, warmup: float) -> dict:
            calls.append(name)
            return slice_answer(500, {10 if name.startswith("one") else 20: cpu}, 500)
        return drive

    args = argparse.Namespace(duration=8.0, rounds=4)
    measured = compare_processes({1: [side("one on CPU 0", 1.0), side("one on CPU 1", 1.2)],
                                  2: [side("two", 1.05)]}, args)
    assert calls[:3] == ["one on CPU 0", "one on CPU 1", "two"]  # every server warmed, unmeasured
    assert calls[3:] == ["one on CPU 0", "two", "two", "one on CPU 1", "one on CPU 0", "two", "two", "one on CPU 1"]
    # 4 slices of 500 requests, 2 on each CPU: (2 x 1.0 + 2 x 1.2) s / 2,000 = 2.2 ms
    assert measured[1].cpu_ms_per_request == 2.2 and measured[2].cpu_ms_per_request == 2.1

    # a measurement too short for a slice on each server still gives every server one
    calls.clear()
    compare_processes({1: [side("one on CPU 0", 1.0), side("one on CPU 1", 1.2)], 2: [side("two", 1.05)]},
                      argparse.Namespace(duration=1.0, rounds=4))
    assert calls[3:] == ["one on CPU 0", "two", "two", "one on CPU 1"]


def test_b4w_rows_judge_the_searches_p99_and_show_the_writers_of_the_same_window() -> None:
    def result(p99: float, requests: int, failures: int = 0, first_failure: str | None = None) -> LoadResult:
        return LoadResult(requests=requests, failures=failures, seconds=9.5, requests_per_second=requests / 9.5,
                          p50_ms=p99 / 4, p99_ms=p99, first_failure=first_failure)

    rows = search_writes_rows(result(49.99, 200), result(80.0, 1900), writers=8, latency_concurrency=1)
    by = {(row.benchmark, row.figure): row for row in rows}
    p99 = by["B4w searchMessages under writes (8 writers)", "p99 ms"]
    assert (p99.value, p99.target, p99.verdict) == (49.99, "<= 50 ms", "pass")
    assert "while 8 operators send messages" in p99.note
    assert by["B4w searchMessages under writes (8 writers)", "failed requests"].value == "0/200"
    assert by["B4w sendMessage writers (8)", "requests/s"].value == 200.0
    assert "9.5s, the searches' window" in by["B4w sendMessage writers (8)", "requests/s"].note
    assert by["B4w sendMessage writers (8)", "p99 ms"].value == 80.0

    rows = search_writes_rows(result(50.01, 200), result(80.0, 1900, 3, "HTTP 500: boom"), 8, 1)
    by = {(row.benchmark, row.figure): row for row in rows}
    assert by["B4w searchMessages under writes (8 writers)", "p99 ms"].verdict == "FAIL"
    failed = by["B4w sendMessage writers (8)", "failed requests"]
    assert failed.value == "3/1900" and "HTTP 500: boom" in failed.note


async def test_the_writers_count_only_what_ends_between_ready_and_stop() -> None:
    sent = {"count": 0}
    opened = asyncio.Event()

    def writer(fails_every: int = 0) -> Callable[[], Awaitable[str | None]]:
        async def send() -> str | None:
            await asyncio.sleep(0.002)
            sent["count"] += 1
            return "refused" if fails_every and sent["count"] % fails_every == 0 else None
        return send

    async def stop() -> None:
        await asyncio.sleep(0.2)

    result = await write_until_stopped([writer(), writer(fails_every=10)], warmup=0.1, stop=stop,
                                       ready=opened.set)
    assert opened.is_set()
    assert 0.19 <= result.seconds <= 0.5
    # the warm-up's requests are not counted: fewer than all sent, and more than none
    assert 0 < result.requests < sent["count"]
    assert 0 < result.failures < result.requests and result.first_failure == "refused"
    assert result.requests_per_second == pytest.approx((result.requests - result.failures) / result.seconds, rel=0.01)
    assert result.p50_ms >= 2.0
