"""B8 processes that add up: the server's CPU per request at N worker processes against one.

`--workers N` runs the project's server as uvicorn's supervisor and N worker processes on one
port (as `openchannels serve --workers N` does: events cross processes through Redis, which the
bench server always uses, and each worker keeps its metrics in PROMETHEUS_MULTIPROC_DIR). Every
row is then measured against it.

B8 starts two servers of its own beside each other, one process and N (`--workers` when above
1, else 2), each on a Redis channel of its own (neither receives the other's events), and
drives B1b's list (`conversations(first: 50)` as the 50-chat operator, `--concurrency`
connections) and B3's writers (`sendMessage` by `--writers` operators) at each, and at a third
side, the control: the one-process server at one process's share of the load (`--concurrency`/N
connections, W/N writers, rounded up), which is what each of the N processes carries. A process
that carries fewer requests at once spends more CPU on each (it sleeps and wakes more often),
whatever the number of processes (bench/HISTORY.md, issue #18, second pass): the control tells that apart
from what the second process itself costs. The sides run in alternating slices (one, N, control,
control, N, one, ...), after an unmeasured slice on each, for twice `--duration` in twice
`--rounds` slices. With WORKER_CPU_AFFINITY=auto (the bench's default for B8) the N processes hold
N CPUs, and the one process is N one-process servers, one on each of those CPUs, taking the
side's slices in turn: a CPU that also serves the machine's interrupts (here every disk
interrupt lands on CPU 1, and PostgreSQL's commits make one each) charges them to whichever
process runs there, and it must not be only the N's. The N-process row's note tells the slices
where every worker was busy from those where the kernel gave the connections to fewer workers,
with the CPU per request of each and its workers' sleeps and preemptions per request (voluntary
and involuntary context switches, /proc/<pid>/status: a preempted worker comes back to cold
caches). The server's CPU is the sum of
user + system time, from /proc/<pid>/stat, of every process of the server (the supervisor and
each worker), read by the driver itself at the start and the end of its measured window (after
the warm-up), and divided by the requests answered in that window. PostgreSQL's and Redis's CPU
is not counted: they are the parts the processes share.

The driver runs in a process of its own (`python -m bench.processes load|ingest`), bench/load.py's
and bench/ingest.py's loops with the CPU reads beside them.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

from bench import driver_results
from bench.cpu import parent_and_seconds, status_fields
from bench.load import LoadResult

REPO_ROOT = Path(__file__).resolve().parents[1]
#: CPU per request at N processes within 10 % of one process's (issue 18, item 4)
CPU_TARGET = 1.10


# ---------------------------------------------------------------------------- CPU of a process tree


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it (root first), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = parent_and_seconds(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry.name))
    tree, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        tree.append(pid)
        queue += sorted(children.get(pid, []))
    return tree


def cpu_of(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds so far of each of `pids` that is alive."""
    seconds = {}
    for pid in pids:
        stat = parent_and_seconds(pid)
        if stat is not None:
            seconds[pid] = stat[1]
    return seconds


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds so far of each live process of the tree under `root` (root included)."""
    return cpu_of(process_tree(root))


def _switches(pid: int) -> tuple[int, int] | None:
    """(voluntary, involuntary) context switches so far of a live process, None when it is gone:
    a voluntary one is a sleep (an event loop waiting for its sockets), an involuntary one a
    preemption (another task wanted the CPU)."""
    fields = status_fields(pid)
    if fields is None:
        return None
    return int(fields.get("voluntary_ctxt_switches", 0)), int(fields.get("nonvoluntary_ctxt_switches", 0))


def switches_of(pids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """`_switches` of each of `pids` that is alive."""
    counts = {}
    for pid in pids:
        switches = _switches(pid)
        if switches is not None:
            counts[pid] = switches
    return counts


def switches_made(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]) -> dict[int, list[int]]:
    """The switches each process made between two reads (as `cpu_spent`: one born in between counts whole)."""
    return {pid: [now[0] - before.get(pid, (0, 0))[0], now[1] - before.get(pid, (0, 0))[1]]
            for pid, now in after.items()}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    """CPU seconds each process spent between two reads; a process born in between counts whole,
    one gone in between is lost (its last ticks are unknown)."""
    return {pid: round(seconds - before.get(pid, 0.0), 3) for pid, seconds in after.items()}


def wait_for_workers(root: int, workers: int, timeout: float = 120.0) -> None:
    """Wait until the server under `root` has its worker processes and none of them burns CPU any
    more (each finished starting: /healthz is answered by the first worker up)."""
    if workers <= 1:
        return
    deadline = time.monotonic() + timeout
    before = tree_cpu(root)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        after = tree_cpu(root)
        started = [pid for pid in after if pid != root and role(pid, root) == "worker"]
        if len(started) >= workers and sum(cpu_spent(before, after).values()) < 0.05:
            return
        before = after
    raise RuntimeError(f"the server's {workers} workers did not settle in {timeout:g}s: {tree_cpu(root)}")


# ---------------------------------------------------------------------------- the driver process


async def _with_cpu(work: Awaitable[LoadResult], root: int, warmup: float, duration: float) -> dict:
    """Run `work` (a measurement that starts now, warms up for `warmup` s and measures for
    `duration` s) and read the server's CPU at the edges of its measured window."""
    reads: list[dict[int, float]] = []
    switches: list[dict[int, tuple[int, int]]] = []

    def read() -> None:  # one walk of /proc for both
        pids = process_tree(root)
        reads.append(cpu_of(pids))
        switches.append(switches_of(pids))

    async def read_at_edges() -> None:
        await asyncio.sleep(warmup)
        read()
        await asyncio.sleep(duration)
        read()

    result, _ = await asyncio.gather(work, read_at_edges())
    return {"result": asdict(result), "cpu": cpu_spent(*reads), "switches": switches_made(*switches), "root": root}


async def _run(args: argparse.Namespace) -> dict:
    if args.mode == "load":
        from bench.load import run_load

        headers = {"content-type": "application/json", **json.loads(args.headers)}
        work = run_load(args.url, args.body.encode(), headers, duration=args.duration,
                        concurrency=args.concurrency, warmup=args.warmup)
        return await _with_cpu(work, args.server_pid, args.warmup, args.duration)
    from bench.ingest import _timed, graphql_writers

    senders, close = await graphql_writers(args.url, json.loads(args.writers))
    try:
        return await _with_cpu(_timed(senders, args.duration, args.warmup), args.server_pid, args.warmup,
                               args.duration)
    finally:
        await close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processes", description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("load", "ingest"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--server-pid", type=int, required=True, help="the server's first process (uvicorn's)")
    parser.add_argument("--body", default="{}", help="load: the JSON to POST")
    parser.add_argument("--headers", default="{}", help="load: JSON object of request headers")
    parser.add_argument("--concurrency", type=int, default=16, help="load: connections")
    parser.add_argument("--writers", default="[]", help="ingest: JSON list of {token, chat}")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    driver_results.add_option(parser)
    args = parser.parse_args(argv)
    try:
        from uvloop import run
    except ImportError:
        run = asyncio.run
    driver_results.hand_back(run(_run(args)), args.result_file)
    return 0


# ---------------------------------------------------------------------------- in the bench process


@dataclass
class Measured:
    """One server's slices of one workload: what the driver saw, and the server's CPU meanwhile."""
    slices: list[LoadResult] = field(default_factory=list)
    #: CPU seconds per process, over every slice (the root first: the supervisor at N > 1)
    cpu: dict[int, float] = field(default_factory=dict)

    #: each process's role (`role()`), read while it lives
    roles: dict[int, str] = field(default_factory=dict)
    #: each slice's CPU seconds per process
    slice_cpu: list[dict[int, float]] = field(default_factory=list)
    #: each slice's (voluntary, involuntary) context switches per process
    slice_switches: list[dict[int, tuple[int, int]]] = field(default_factory=list)

    def add(self, answer: dict) -> None:
        self.slices.append(LoadResult(**answer["result"]))
        self.slice_cpu.append({int(pid): seconds for pid, seconds in answer["cpu"].items()})
        self.slice_switches.append({int(pid): (made[0], made[1]) for pid, made in answer.get("switches", {}).items()})
        for pid, seconds in answer["cpu"].items():
            self.cpu[int(pid)] = round(self.cpu.get(int(pid), 0.0) + seconds, 3)
            if int(pid) not in self.roles:
                self.roles[int(pid)] = role(int(pid), answer["root"])

    @property
    def result(self) -> LoadResult:
        return LoadResult.merged(self.slices)

    @property
    def cpu_ms_per_request(self) -> float | None:
        requests = sum(part.requests for part in self.slices)
        return round(1000 * sum(self.cpu.values()) / requests, 3) if requests else None


def drive_with_cpu(mode: str, server: Any, *, duration: float, warmup: float, concurrency: int = 16,
                   body: dict | None = None, headers: dict | None = None, writers: list | None = None) -> dict:
    command = [sys.executable, "-m", "bench.processes", mode, "--url", f"{server.base_url}/graphql",
               "--server-pid", str(server.process.pid), "--duration", str(duration), "--warmup", str(warmup),
               "--concurrency", str(concurrency), "--body", json.dumps(body or {}),
               "--headers", json.dumps(headers or {}), "--writers", json.dumps(writers or [])]
    answer: dict = driver_results.run_driver(command, f"bench.processes {mode}", timeout=duration + warmup + 120)
    return answer


def role(pid: int, root: int) -> str:
    """What a server process is: uvicorn's supervisor (the root at N > 1), multiprocessing's
    resource tracker, or a worker (the root itself at N = 1)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    except OSError:
        command = []
    if any("resource_tracker" in part for part in command):
        return "resource tracker"
    workers = command[command.index("--workers") + 1] if "--workers" in command[:-1] else "1"
    return "supervisor" if pid == root and workers != "1" else "worker"


#: a worker that spent less than this share of a slice's CPU carried (almost) none of its load
IDLE_SHARE = 0.2


def switches_note(measured: Measured, slices: Sequence[int] | None = None) -> str:
    """The workers' sleeps (voluntary context switches) and preemptions (involuntary ones) per
    request, over the given slices (default: all); "" when the driver read none."""
    chosen = range(len(measured.slices)) if slices is None else slices
    requests = sum(measured.slices[k].requests for k in chosen)
    made = [counts for k in chosen if k < len(measured.slice_switches)
            for pid, counts in measured.slice_switches[k].items() if measured.roles.get(pid) == "worker"]
    if not made or not requests:
        return ""
    sleeps, preemptions = sum(v for v, _ in made) / requests, sum(n for _, n in made) / requests
    return f"{sleeps:.2f} sleeps and {preemptions:.2f} preemptions per request"


def spread_note(measured: Measured) -> str:
    """The N processes' slices told apart by where the kernel put the connections: every worker
    busy, or the load on fewer (the others idle), with the CPU per request of each kind and its
    workers' sleeps and preemptions."""
    kinds: dict[bool, list[int]] = {True: [], False: []}
    for k, (result, cpu) in enumerate(zip(measured.slices, measured.slice_cpu)):
        workers = [seconds for pid, seconds in cpu.items() if measured.roles.get(pid) == "worker"]
        total = sum(workers)
        if len(workers) < 2 or not total or not result.requests:
            return ""
        kinds[all(seconds >= IDLE_SHARE * total / len(workers) for seconds in workers)].append(k)
    parts = []
    for spread, name in ((True, "every worker busy"), (False, "the load on fewer workers")):
        if kinds[spread]:
            requests = sum(measured.slices[k].requests for k in kinds[spread])
            seconds = sum(sum(measured.slice_cpu[k].values()) for k in kinds[spread])
            count = len(kinds[spread])
            switches = switches_note(measured, kinds[spread])
            parts.append(f"{name} in {count} slice{'s' * (count != 1)}, {1000 * seconds / requests:.3f} ms/request"
                         f"{_with(switches)}")
        else:
            parts.append(f"{name} in no slice")
    return "; by slice: " + ", ".join(parts)


def cpu_note(measured: Measured) -> str:
    """The CPU seconds of each process over the slices, by role."""
    return "CPU s by process: " + ", ".join(f"{measured.roles.get(pid, 'gone')} {seconds:.2f}"
                                            for pid, seconds in measured.cpu.items())


def process_rows(workload: str, one: Measured, many: Measured, workers: int,
                 received: dict[int, float | None] | None = None, affinity: str = "") -> list:
    """B8's rows for one workload: CPU per request at N processes against one (the target), the
    throughput beside it, and the failed requests of both. `received`: the events each server's
    processes read from Redis per operation (N and 1), for the CPU row's note; `affinity`: the
    servers' WORKER_CPU_AFFINITY, for the same note."""
    from bench.run import Row, ratio, verdict

    benchmark = f"B8 {workload}, {workers} processes vs 1"
    cpu_ratio = ratio(many.cpu_ms_per_request, one.cpu_ms_per_request)
    ours, base = many.result, one.result
    rows = [
        Row(benchmark, "server CPU ms/request", many.cpu_ms_per_request, one.cpu_ms_per_request, cpu_ratio,
            f"{cpu_note(many)}{spread_note(many)}; at 1: {cpu_note(one)}{_with(switches_note(one))}"
            f"{_received_note(received, workers)}{affinity}",
            target=f"<= {CPU_TARGET:.2f} x 1 process",
            verdict=verdict(cpu_ratio is not None and cpu_ratio <= CPU_TARGET)),
        Row(benchmark, "requests/s", round(ours.requests_per_second, 1), round(base.requests_per_second, 1),
            ratio(ours.requests_per_second, base.requests_per_second)),
        Row(benchmark, "p99 ms", round(ours.p99_ms, 2), round(base.p99_ms, 2), ratio(ours.p99_ms, base.p99_ms)),
        Row(benchmark, "failed requests", f"{ours.failures}/{ours.requests}", f"{base.failures}/{base.requests}"),
    ]
    for name, result in ((f"{workers} processes", ours), ("1 process", base)):
        if result.first_failure:
            rows[-1].note += f"{name} first failure: {result.first_failure[:160]} "
    return rows


def _with(note: str) -> str:
    return f" ({note})" if note else ""


def _received_note(received: dict[int, float | None] | None, workers: int) -> str:
    if not received or any(received.get(count) is None for count in (1, workers)):
        return ""
    return (f"; events read from Redis per request, all processes: {received[workers]:.2f} at {workers}, "
            f"{received[1]:.2f} at 1")


def compare_processes(sides: dict[Any, Sequence[Callable[[float, float], dict]]],
                      args: argparse.Namespace) -> dict[Any, Measured]:
    """One unmeasured slice on each side's every server (`drive(duration, warmup)`), then
    alternating measured slices (a, b, c, c, b, a, ...). A side with several servers drives them
    in turn, one per slice (B8's one process, on each CPU the N processes hold)."""
    for drives in sides.values():
        for drive in drives:
            drive(min(1.0, args.duration), 0.5)
    # at least a slice on every server of a side
    rounds = max(1, min(args.rounds, int(args.duration)), *(len(drives) for drives in sides.values()))
    measured = {side: Measured() for side in sides}
    order = list(sides)
    for round_ in range(rounds):
        for side in (order if round_ % 2 == 0 else order[::-1]):
            drives = sides[side]
            measured[side].add(drives[len(measured[side].slices) % len(drives)](args.duration / rounds, 0.5))
    return measured


def share(total: int, workers: int) -> int:
    """One process's part of `total` connections or writers spread over `workers` processes."""
    return max(1, -(-total // workers))


def control_row(workload: str, one: Measured, many: Measured, workers: int, load: str) -> Any:
    """The N-process server against the one-process server driven at one process's share of the
    load (`load`: what that is): whether the process count, rather than the lighter load each
    process then carries, makes a request cost more."""
    from bench.run import Row, ratio, verdict

    cpu_ratio = ratio(many.cpu_ms_per_request, one.cpu_ms_per_request)
    return Row(f"B8 {workload}, {workers} processes vs 1", f"server CPU ms/request, 1 process at {load}",
               many.cpu_ms_per_request, one.cpu_ms_per_request, cpu_ratio,
               f"at 1 process and {load}: {round(one.result.requests_per_second, 1)} requests/s, {cpu_note(one)}"
               f"{_with(switches_note(one))}",
               target=f"<= {CPU_TARGET:.2f} x 1 process",
               verdict=verdict(cpu_ratio is not None and cpu_ratio <= CPU_TARGET))


def cpus_allowed(pid: int) -> str:
    """The CPUs a process may run on, as /proc/<pid>/status lists them ("0-1", "3"; "" when gone)."""
    return (status_fields(pid) or {}).get("Cpus_allowed_list", "")


def in_turn_note(ones: list[Any]) -> str:
    """What the one-process side is when it is several servers, each kept to a CPU of its own."""
    if len(ones) < 2:
        return ""
    cpus = ", ".join(f"CPU {cpus_allowed(one.process.pid)}" for one in ones)
    return f"; 1 process: a server on each CPU the N hold ({cpus}), one per slice in turn"


def run_b8(start: Callable[[str, dict[str, str], int], Any], server_env: dict[str, str], tokens: dict[int, str],
           targets: Any, args: argparse.Namespace) -> list:
    """`start(name, env, workers)` starts a server (the bench keeps it to stop it at the end).

    With WORKER_CPU_AFFINITY=auto the N processes hold N CPUs, and the one-process side is N
    one-process servers, one kept to each of those CPUs, driven in turn (one per slice): a CPU
    that also takes the machine's interrupts (here the disk's: PostgreSQL's commits, charged to
    whichever process runs there) is then as much the one process's as the N's. B8 measures twice
    as long per side as the other rows, in twice as many slices (one slice's CPU per request
    varies by about 15 % here)."""
    from bench import queries, runtime
    from bench.run import Row, schema_has_conversations

    workers = args.workers if args.workers > 1 else 2
    measuring = argparse.Namespace(duration=2 * args.duration, rounds=2 * args.rounds)

    def environment(name: str) -> dict[str, str]:
        return {**server_env, "REDIS_CHANNEL": f"{server_env.get('REDIS_CHANNEL', 'openchannels-bench')}:{name}",
                "WORKER_CPU_AFFINITY": args.cpu_affinity}

    many = start(f"graphql-b8-{workers}", environment(f"b8-{workers}"), workers)
    wait_for_workers(many.process.pid, workers)
    placements = workers if args.cpu_affinity == "auto" else 1
    ones = [start(f"graphql-b8-1-{k}", environment(f"b8-1-{k}"), 1) for k in range(placements)]
    print(f"[bench] B8 processes: {workers} against 1, {measuring.duration:g}s each side per workload", flush=True)
    rows = []
    affinity = f"; both servers WORKER_CPU_AFFINITY={args.cpu_affinity}{in_turn_note(ones)}"
    if schema_has_conversations():
        headers = {"Authorization": f"Bearer {tokens[50]}"}
        body = {"query": queries.CONVERSATIONS}

        def load(server: Any, concurrency: int) -> Callable[[float, float], dict]:
            return lambda duration, warmup: drive_with_cpu("load", server, duration=duration, warmup=warmup,
                                                           concurrency=concurrency, body=body, headers=headers)

        part = share(args.concurrency, workers)
        measured = compare_processes({1: [load(one, args.concurrency) for one in ones],
                                      workers: [load(many, args.concurrency)],
                                      "share": [load(one, part) for one in ones]}, measuring)
        workload = "B1b conversations(first: 50)"
        rows += process_rows(workload, measured[1], measured[workers], workers, affinity=affinity)
        rows.insert(-3, control_row(workload, measured["share"], measured[workers], workers,
                                    f"{part} connections"))
    else:
        rows.append(Row(f"B8 B1b conversations(first: 50), {workers} processes vs 1", "server CPU ms/request",
                        "skipped", note="Query.conversations is not in schema.graphql yet"))
    writers = [{"token": token, "chat": chat} for token, chat in targets.ingest]
    servers = {1: ones, workers: [many]}
    before = {count: [runtime.read(server.base_url) for server in group] for count, group in servers.items()}

    def ingest(server: Any, writing: list) -> Callable[[float, float], dict]:
        return lambda duration, warmup: drive_with_cpu("ingest", server, duration=duration, warmup=warmup,
                                                       writers=writing)

    part = share(len(writers), workers)
    measured = compare_processes({1: [ingest(one, writers) for one in ones], workers: [ingest(many, writers)],
                                  "share": [ingest(one, writers[:part]) for one in ones]}, measuring)
    received = {count: runtime.events_received_per_operation(
                    runtime.summed(before[count]), runtime.summed([runtime.read(server.base_url) for server in group]))
                for count, group in servers.items()}
    workload = f"B3 sendMessage ({len(writers)} operators)"
    rows += process_rows(workload, measured[1], measured[workers], workers, received, affinity=affinity)
    rows.insert(-3, control_row(workload, measured["share"], measured[workers], workers, f"{part} writers"))
    for server in [many, *ones]:
        server.stop()
    return rows


# ---------------------------------------------------------------------------- flags


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1,
                        help="the project's server as N processes on one port (uvicorn --workers N, events through "
                        "Redis), for every row (default 1); B8 compares N (2 when 1) against one process")
    parser.add_argument("--cpu-affinity", choices=("auto", "off"), default="auto",
                        help="B8: WORKER_CPU_AFFINITY of both its servers (default auto: each process keeps to a "
                        "CPU of its own, as a machine running several workers would be set up; off: the kernel "
                        "moves them)")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: at least one process is needed")


if __name__ == "__main__":
    raise SystemExit(main())
