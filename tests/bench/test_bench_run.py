"""`python -m bench` end to end at a tiny scale: seed, both servers, every benchmark B1-B8 and B4w driven
over real HTTP/WebSocket from separate processes, the JSON table written. This checks the
harness (every figure there, plausible, no failed request), not the speed: CI's numbers are no
targets. Half a second of load per measurement (after the bench's own warm-up) still gives every
figure hundreds of requests; the rest of the run's time is fixed (seed, servers, drivers' start-up).
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.resources import TEST_POSTGRES_URL, TEST_REDIS_URL, database_name, drop_database

REPO_ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBERS = 5
IDLE_CONNECTIONS = 100
#: B3's rounds at `--rounds 1` (each side one slice): the by-round and by-slice notes list one figure each
B3_ROUNDS = 1


def run_bench(json_path: Path, database: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bench", "--scale", "0.002", "--reseed", "--duration", "0.5", "--rounds", "1",
               "--concurrency", "4", "--subscribers", str(SUBSCRIBERS), "--idle-connections", str(IDLE_CONNECTIONS),
               "--events", "3", "--writers", "3", "--json", str(json_path), "--database", database]
    env = {**os.environ, "BENCH_POSTGRES_URL": TEST_POSTGRES_URL, "BENCH_REDIS_URL": TEST_REDIS_URL}
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def number(text: str) -> float:
    return float(str(text).split()[0])


async def test_bench_runs_every_benchmark_and_writes_plausible_figures(tmp_path: Path) -> None:
    json_path = tmp_path / "bench.json"
    database = database_name("bench")  # a database of this run's own, dropped here
    try:
        done = run_bench(json_path, database)
    finally:
        await drop_database(database)
    assert done.returncode == 0, f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    table = json.loads(json_path.read_text())
    rows = {(row["benchmark"], row["figure"]): row for row in table["rows"]}
    assert table["run"]["scale"] == 0.002 and table["run"]["subscribers"] == SUBSCRIBERS

    def value(benchmark: str, figure: str) -> float:
        assert (benchmark, figure) in rows, f"no {benchmark} / {figure} in {sorted(rows)}"
        result = number(rows[benchmark, figure]["value"])
        assert math.isfinite(result), (benchmark, figure, result)
        return result

    # B1 and B3: throughput beside the baseline's, latencies ordered, nothing failed
    for benchmark in ("B1 myChats (50 chats)", "B1b conversations(first: 50)", "B3 sendMessage (3 operators)"):
        throughput = rows[benchmark, "requests/s"]
        assert value(benchmark, "requests/s") > 0 and throughput["baseline"] > 0, throughput
        assert throughput["ratio"] == round(throughput["value"] / throughput["baseline"], 3)
        assert throughput["verdict"] in ("pass", "FAIL") and throughput["target"]
        assert 0 < value(benchmark, "p50 ms") <= value(benchmark, "p99 ms")
        assert 0 < rows[benchmark, "p50 ms"]["baseline"] <= rows[benchmark, "p99 ms"]["baseline"]
        tail = rows[benchmark, "p99 ms"]  # the ratio of the unrounded p99s: the shown ones within rounding
        assert tail["ratio"] == pytest.approx(tail["value"] / tail["baseline"], rel=0.01), tail
        if benchmark.startswith("B3"):  # issue #18 holds B3's p99 to the hand-written endpoint's (below), not the raw loop's
            assert tail["target"] == tail["verdict"] == "" and "hand-written endpoint" in tail["note"], tail
        else:  # issue #18: p99 <= 1.5 x the baseline's p99, with its verdict
            assert tail["target"] == "<= 1.5 x baseline"
            assert tail["verdict"] == ("pass" if tail["ratio"] <= 1.5 else "FAIL"), tail
        assert str(rows[benchmark, "failed requests"]["value"]).startswith("0/")
        assert str(rows[benchmark, "failed requests"]["baseline"]).startswith("0/")

    # B3 against the hand-written endpoint too (bench/baseline.py's POST /send-message): the messages
    # it wrote answered as the server answers, its p99 the one issue #18 item 2 names, with its verdict
    against = "B3 sendMessage (3 operators) vs hand-written endpoint"
    assert rows[against, "requests/s"]["value"] == rows["B3 sendMessage (3 operators)", "requests/s"]["value"]
    assert rows[against, "requests/s"]["baseline"] > 0 and "/send-message" in rows[against, "requests/s"]["note"]
    assert 0 < rows[against, "p50 ms"]["baseline"] <= rows[against, "p99 ms"]["baseline"]
    tail = rows[against, "p99 ms"]
    assert tail["target"] == "<= 1.5 x baseline" and tail["verdict"] == ("pass" if tail["ratio"] <= 1.5 else "FAIL")
    assert str(rows[against, "failed requests"]["baseline"]).startswith("0/"), rows[against, "failed requests"]
    assert rows[against, "CPU ms per message, Python"]["baseline"] > 0
    assert rows[against, "CPU ms per message, PostgreSQL"]["baseline"] > 0
    # the whole machine's CPU per message on each side (the server and its driver, PostgreSQL, Redis:
    # at least the server's and PostgreSQL's), with the share of idle core time in each side's windows
    for row, other in ((rows["B3 sendMessage (3 operators)", "CPU ms per message, whole machine"], "the raw loop"),
                       (rows[against, "CPU ms per message, whole machine"], "the endpoint")):
        b3 = "B3 sendMessage (3 operators)"
        assert row["value"] >= value(b3, "CPU ms per message, Python") + value(b3, "CPU ms per message, PostgreSQL") - 0.1, row
        assert row["baseline"] > 0 and row["ratio"] == round(row["value"] / row["baseline"], 3), row
        idle = re.search(rf"cores idle in the windows: the server's (\d+)%, {other}'s (\d+)%", row["note"])
        assert idle is not None and all(0 <= int(share) <= 100 for share in idle.groups()), row["note"]
    # how far one round strays: each round's p99 against the endpoint's, each slice's CPU per message
    # the p99 ratio split into what throughput explains (latency ~ 1 / throughput in a closed loop) and the tail's shape
    split = re.search(r"; p99 ratio = p50 ratio ([\d.]+) x tail shape ratio ([\d.]+) .* requests/s over ours, ([\d.]+)$",
                      tail["note"])
    assert split is not None and float(split[1]) * float(split[2]) == pytest.approx(tail["ratio"], abs=0.02), tail
    assert float(split[3]) == pytest.approx(rows[against, "requests/s"]["baseline"] / rows[against, "requests/s"]["value"],
                                            abs=0.01), tail
    by_round = tail["note"].split("; ")[0].removeprefix("by round (the two sides' slices side by side): ").removesuffix(" x")
    assert len(by_round.split(", ")) == B3_ROUNDS and all(float(r) > 0 for r in by_round.split(", ")), tail["note"]
    slices = re.search(r"by slice, the server's ([\d., ]+), the endpoint's ([\d., ]+)$",
                       rows[against, "CPU ms per message, Python"]["note"])
    assert slices is not None and all(len(side.split(", ")) == B3_ROUNDS and all(float(x) > 0 for x in side.split(", "))
                                      for side in slices.groups()), rows[against, "CPU ms per message, Python"]["note"]

    # B1, B1b: the tail against the figure's own median, beside the baselines' own (in the same
    # slices), and the server's pauses read from its /metrics
    for benchmark, baselines in (("B1 myChats (50 chats)", ("hand-written",)),
                                 ("B1b conversations(first: 50)", ("hand-written",)),
                                 ("B3 sendMessage (3 operators)", ("raw loop", "hand-written endpoint"))):
        assert value(benchmark, "p99 / own p50") >= 1
        shapes = re.search(r"^the baselines' own p99 / p50 in the same slices: (.*) \(", rows[benchmark, "p99 / own p50"]["note"])
        assert shapes is not None, rows[benchmark, "p99 / own p50"]
        assert [shape.rsplit(" ", 1)[0] for shape in shapes[1].split(", ")] == list(baselines)
        assert all(float(shape.rsplit(" ", 1)[1]) >= 1 for shape in shapes[1].split(", ")), shapes[1]
        assert value(benchmark, "GC us per request") >= 0
        assert "loop probes" in rows[benchmark, "GC us per request"]["note"]

    # B2: every subscriber received every event; latencies ordered; memory per idle connection measured
    for name in ("queueChanged", "chatEvents"):
        benchmark = f"B2 {name} ({SUBSCRIBERS} subscribers)"
        assert rows[benchmark, "lost receipts"]["value"] == f"0/{3 * SUBSCRIBERS}"
        assert 0 <= value(benchmark, "p50 ms, every receipt") <= value(benchmark, "p99 ms, every receipt")
        assert 0 <= value(benchmark, "p50 ms, last subscriber") <= value(benchmark, "p99 ms, last subscriber")
        # fewer than 100 events: the p99 of the per-event maxima is the slowest receipt of all
        assert value(benchmark, "p99 ms, last subscriber") >= value(benchmark, "p99 ms, every receipt")
        # measured from the mutation's response; a receipt before it counts 0 (the event is published at
        # commit, before the response is written): with 5 subscribers and a quick answer, all may come first
        assert value(benchmark, "p99 ms, last subscriber") >= 0
        # what a subscriber costs the server, measured (CPU ticks are 10 ms: a few events may read 0)
        assert value(benchmark, "server CPU us per delivery") >= 0
    # the chat's figure beside the floor: the same subscribers fed by a server that only writes frames
    floor = rows[f"B2 chatEvents ({SUBSCRIBERS} subscribers)", "p99 ms, last subscriber"]
    assert floor["baseline"] > 0 and "lost 0" in floor["note"] and "bench/fanout_floor.py" in floor["note"]
    idle = f"B2 idle ({IDLE_CONNECTIONS} connections x 3 subscriptions)"
    assert value(idle, "KiB per connection") > 0
    assert rows[idle, "KiB per connection"]["verdict"] in ("pass", "FAIL")

    # B4, B5: latencies ordered, nothing failed
    for benchmark in ("B4 searchMessages (all terms)", "B5 statistics (30 days)"):
        assert 0 < value(benchmark, "p50 ms") <= value(benchmark, "p99 ms")
        assert rows[benchmark, "p99 ms"]["verdict"] in ("pass", "FAIL")
        failed = rows[benchmark, "failed requests"]["value"]
        assert failed.startswith("0/") and not failed.endswith("/0"), failed

    # B4w: the searches measured while the writers wrote (their figures of the same window); nothing failed
    search, writers = "B4w searchMessages under writes (3 writers)", "B4w sendMessage writers (3)"
    assert 0 < value(search, "p50 ms") <= value(search, "p99 ms")
    assert rows[search, "p99 ms"]["verdict"] in ("pass", "FAIL") and rows[search, "p99 ms"]["target"] == "<= 50 ms"
    assert value(writers, "requests/s") > 0 and 0 < value(writers, "p50 ms") <= value(writers, "p99 ms")
    for benchmark in (search, writers):
        failed = rows[benchmark, "failed requests"]["value"]
        assert failed.startswith("0/") and not failed.endswith("/0"), failed

    # B8: the server's CPU per request at 2 processes and at 1, every process counted; nothing failed
    assert table["run"]["workers"] == 1
    for workload in ("B1b conversations(first: 50)", "B3 sendMessage (3 operators)"):
        benchmark = f"B8 {workload}, 2 processes vs 1"
        cpu = rows[benchmark, "server CPU ms/request"]
        assert cpu["value"] > 0 and cpu["baseline"] > 0 and cpu["ratio"] == round(cpu["value"] / cpu["baseline"], 3)
        assert cpu["verdict"] in ("pass", "FAIL") and cpu["target"] == "<= 1.10 x 1 process"
        # every process counted: the N's (supervisor, 2 workers), then the one process, which with
        # WORKER_CPU_AFFINITY=auto (B8's default) is a server on each CPU the 2 workers hold, in turn
        many, one = cpu["note"].split("; at 1: ")
        processes, by_slice = many.split("; by slice: ")
        assert "supervisor" in processes and processes.count("worker ") == 2, cpu["note"]
        assert by_slice.startswith("every worker busy in ") and "the load on fewer workers in " in by_slice
        servers = 2 if len(os.sched_getaffinity(0)) >= 2 else 1
        assert one.split(";")[0].count("worker ") == servers, cpu["note"]
        if servers == 2:
            held = re.search(r"1 process: a server on each CPU the N hold \(CPU (\d+), CPU (\d+)\), one per slice "
                             r"in turn", one)
            assert held and held[1] != held[2], one
        # the control: the same N-process figure against one process at its share of the load
        control = rows[benchmark, "server CPU ms/request, 1 process at "
                       + ("2 connections" if workload.startswith("B1b") else "2 writers")]
        assert control["value"] == cpu["value"] and control["baseline"] > 0
        assert control["verdict"] in ("pass", "FAIL") and control["note"].count("worker ") == servers, control["note"]
        assert value(benchmark, "requests/s") > 0 and rows[benchmark, "requests/s"]["baseline"] > 0
        assert str(rows[benchmark, "failed requests"]["value"]).startswith("0/")
        assert str(rows[benchmark, "failed requests"]["baseline"]).startswith("0/")

    # B6: statements counted at both page sizes, equal
    for benchmark, small, large in (("B6 myChats", "SQL statements, 10 chats", "SQL statements, 100 chats"),
                                    ("B6 conversations", "SQL statements, first: 10", "SQL statements, first: 100"),
                                    ("B6 searchMessages", "SQL statements, first: 10", "SQL statements, first: 100"),
                                    ("B6 statistics", "SQL statements, 10 days", "SQL statements, 100 days")):
        assert value(benchmark, small) >= 1
        assert value(benchmark, small) == value(benchmark, large), benchmark
        assert rows[benchmark, "constant in page size"]["verdict"] == "pass"

    # B7: every conversation exported once over HTTP (the seed's 480 at this scale and B2's visitor chats),
    # the baseline a tenth; the server's memory measured for both; statistics.csv's total = the count
    [export] = {benchmark for benchmark, _ in rows if benchmark.startswith("B7 conversations.csv")}
    exported, counted = map(int, rows[export, "rows = totalCount"]["value"].split("/"))
    assert exported == counted >= 480 and export == f"B7 conversations.csv ({exported} rows)"
    baseline_rows, baseline_counted = map(int, rows[export, "rows = totalCount"]["baseline"].split("/"))
    assert baseline_rows == baseline_counted == exported // 10
    assert value(export, "rows/s") > 0 and value(export, "seconds") > 0
    assert value(export, "server peak RSS growth MiB") >= 0
    assert value(export, "server peak RSS growth MiB, again") >= 0
    assert rows[export, "server peak RSS growth MiB"]["verdict"] in ("pass", "FAIL")
    assert "peak" in rows[export, "server peak RSS growth MiB"]["note"]
    assert rows["B7 statistics.csv (400 days)", "total = totalCount"]["value"] == f"{exported}/{exported}"
    assert value("B7 statistics.csv (400 days)", "seconds") > 0

    assert "not yet" not in {row["figure"] for row in table["rows"]}
    assert "Open Channels bench" in done.stdout and "verdict" in done.stdout
