"""CPU time of a server process and of the PostgreSQL backends serving it, from /proc (Linux).

A figure per request is the CPU a slice of load cost (user + system, every thread of the
process) divided by the requests answered in it, warm-up included (the driver counts those too:
`LoadResult.completed`). PostgreSQL's share is the CPU of the client backends connected to the
bench database (their process titles name it): only the server under load works during its
slice, the others' backends sit idle. Backends that end during a slice are not counted (the
servers' pools keep theirs).

It also reads the other lines of /proc/<pid>/status the bench looks at (`status_fields`: memory,
context switches, the CPUs a process may run on).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def parent_and_seconds(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds so far) of a live process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after the last ')'
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is the state (field 3 of proc(5)); ppid is field 4, utime 14, stime 15
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def status_fields(pid: int) -> dict[str, str] | None:
    """The `Name: value` lines of /proc/<pid>/status (values stripped), None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return {name: value.strip() for name, _, value in (line.partition(":") for line in text.splitlines())}


def status_kib(pid: int, field: str) -> int:
    """A memory line of /proc/<pid>/status (VmRSS, VmHWM), in KiB; RuntimeError when it is not there."""
    value = (status_fields(pid) or {}).get(field)
    if value is None:
        raise RuntimeError(f"no {field} for pid {pid}")
    return int(value.split()[0])


def process_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    stat = parent_and_seconds(pid)
    return stat[1] if stat is not None else 0.0


def machine_seconds() -> tuple[float, float]:
    """(busy, idle) CPU seconds so far of every core of the machine, from /proc/stat's first line:
    busy is user, nice, system, irq, softirq and steal; idle is idle and iowait."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICKS, (idle + iowait) / _TICKS


def backend_seconds(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL client backend connected to `database`."""
    found: dict[int, float] = {}
    marker = f" {database} ".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            title = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if title.startswith(b"postgres: ") and marker in title:
            found[int(entry.name)] = process_seconds(int(entry.name))
    return found


@dataclass
class CpuMeter:
    """The CPU one server process and the database's backends spend between `start` and `stop`."""

    pid: int
    database: str
    server_seconds: float = 0.0
    database_seconds: float = 0.0
    #: backends of the database seen at any stop (none: PostgreSQL runs elsewhere, its CPU is not counted)
    backends_seen: int = 0

    def start(self) -> None:
        self._server = process_seconds(self.pid)
        self._backends = backend_seconds(self.database)

    def stop(self) -> None:
        self.server_seconds += process_seconds(self.pid) - self._server
        after = backend_seconds(self.database)
        self.backends_seen = max(self.backends_seen, len(after))
        self.database_seconds += sum(seconds - self._backends.get(pid, 0.0) for pid, seconds in after.items())
