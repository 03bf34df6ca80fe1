"""WORKER_CPU_AFFINITY=auto: each server process keeps to one CPU of its own (nginx's
`worker_cpu_affinity auto`).

Why: with `--workers 2` on a 2-core machine that also runs PostgreSQL, the kernel moves each worker
between the cores as the database's backends wake, and a worker that lands on the other core
finds its caches cold. Under B3's writers (many short round trips per message) that cost the two
workers 1.22-1.39 x one process's CPU per message (median 1.31); with each worker kept to one core,
1.07-1.28 x (median 1.15) (bench/HISTORY.md, twelfth pass). Off by default: on a machine shared with other
services, or with fewer cores than workers, a process kept to one core cannot move away from a busy
one.

How: at start-up (the app's lifespan, so in every worker uvicorn starts, including one it
restarts) the process claims the allowed CPU with the fewest live claims in a small file shared
by the processes of one server (named after the parent, uvicorn's supervisor, and held under an
exclusive `flock` while it is read and written); claims of processes that are gone are dropped.
One process (no supervisor) claims in a file of its own parent's, the same way. At shutdown the
process gives its claim up, and the last one removes the file.

Among CPUs claimed equally often, the one that has served the fewest device interrupts
(/proc/interrupts, the numbered lines: disks, network cards) goes first: an interrupt's time is
charged to whatever process runs on its CPU. On the bench's machine every disk interrupt lands on
CPU 1, and PostgreSQL's commits make about two per message: a process writing messages there
spent 1.03-1.11 x the CPU per message of one on CPU 0 (bench/HISTORY.md, thirteenth pass). With fewer
processes than CPUs, they keep off the busiest CPUs.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections import Counter
from pathlib import Path

from openchannels.processes import alive

log = logging.getLogger("openchannels.cpu_affinity")

#: WORKER_CPU_AFFINITY's values
MODES = ("off", "auto")


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"WORKER_CPU_AFFINITY must be off or auto, not {mode!r}")


def claims_file(group: int) -> Path:
    """Where the processes of one server (`group`: their parent's pid) record their CPUs."""
    return Path(tempfile.gettempdir()) / f"openchannels-cpus-{group}.json"


def _read_claims(file, without: int) -> dict[int, int]:
    """pid -> CPU, from the locked claims file: the live processes' claims but `without`'s."""
    file.seek(0)
    text = file.read()
    try:
        claims = {int(owner): int(cpu) for owner, cpu in (json.loads(text) if text else {}).items()}
    except (ValueError, AttributeError):  # not ours, or cut short: start afresh
        claims = {}
    return {owner: cpu for owner, cpu in claims.items() if owner != without and alive(owner)}


def _write_claims(file, claims: dict[int, int]) -> None:
    file.seek(0)
    file.truncate()
    file.write(json.dumps({str(owner): cpu for owner, cpu in claims.items()}))
    file.flush()


def device_interrupts(text: str) -> dict[int, int]:
    """CPU -> device interrupts it has served, from /proc/interrupts' text: its numbered lines
    (an IRQ of a device), not the CPUs' own (timer, rescheduling, function calls: LOC, RES, CAL...)."""
    lines = text.splitlines()
    if not lines:
        return {}
    cpus = [int(name[3:]) for name in lines[0].split() if name.startswith("CPU") and name[3:].isdigit()]
    served = dict.fromkeys(cpus, 0)
    for line in lines[1:]:
        label, _, rest = line.partition(":")
        if not label.strip().isdigit():
            continue
        for cpu, count in zip(cpus, rest.split()):
            if not count.isdigit():
                break
            served[cpu] += int(count)
    return served


def _read_device_interrupts() -> dict[int, int]:
    try:
        return device_interrupts(Path("/proc/interrupts").read_text())
    except OSError:  # not Linux, or hidden: every CPU alike
        return {}


def claim_cpu(path: Path, pid: int, cpus: list[int], interrupts: dict[int, int] | None = None) -> int:
    """Record that `pid` takes the CPU among `cpus` with the fewest live claims and return it; on a
    tie, the one that served the fewest device `interrupts` (CPU -> count), then the lowest. A claim
    `pid` already holds is given up first. (The lock goes with the file's closing, here and in
    `release_cpu`.)"""
    served = interrupts or {}
    with path.open("a+") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        claims = _read_claims(file, without=pid)
        taken = Counter(claims.values())
        chosen = claims[pid] = min(cpus, key=lambda cpu: (taken[cpu], served.get(cpu, 0), cpu))
        _write_claims(file, claims)
    return chosen


def release_cpu(path: Path, pid: int) -> None:
    """Give up `pid`'s claim; the file goes when no live claim is left in it."""
    try:
        file = path.open("r+")
    except FileNotFoundError:
        return
    with file:
        fcntl.flock(file, fcntl.LOCK_EX)
        claims = _read_claims(file, without=pid)
        if claims:
            _write_claims(file, claims)
        else:
            path.unlink(missing_ok=True)


def keep_to_one_cpu(mode: str) -> int | None:
    """Under `auto`, keep this process to one CPU (see the module's docstring); the CPU, or None
    when off or when the system cannot do it (no sched_setaffinity, a single allowed CPU, or a
    refusal, which is logged)."""
    check_mode(mode)
    if mode == "off" or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    path = claims_file(os.getppid())
    cpu = claim_cpu(path, os.getpid(), cpus, _read_device_interrupts())
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as error:
        release_cpu(path, os.getpid())
        log.warning("WORKER_CPU_AFFINITY=auto: could not keep process %d to CPU %d (%s); it runs on any",
                    os.getpid(), cpu, error)
        return None
    log.info("process %d keeps to CPU %d (WORKER_CPU_AFFINITY=auto)", os.getpid(), cpu)
    return cpu


def let_go_of_cpu(mode: str) -> None:
    """At shutdown: this process's claim given up (see `release_cpu`)."""
    if mode == "auto" and hasattr(os, "sched_setaffinity"):
        release_cpu(claims_file(os.getppid()), os.getpid())
