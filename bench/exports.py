"""B7 export: `GET /exports/conversations.csv` of every conversation and `GET /exports/statistics.csv`
over real HTTP, with the server's memory measured while it streams.

On a GraphQL server started for this figure (the load of B1-B5 would already have grown the
shared server's heap, and growth inside a grown heap does not show in its RSS), as the
supervisor (the seeded admin: every conversation is visible), read by httpx streaming in the
bench process:

- the expected counts come from the API: `conversations(filter) { totalCount }` without a
  filter and for the baseline window;
- the baseline: the same export with `from` set to the creation time of the 1,000th newest
  conversation (at tiny scales a tenth of them), so ~1,000 rows;
- each export in turn: the server's VmRSS before, its peak RSS while the export streams (VmHWM
  after resetting it through /proc/<pid>/clear_refs, and the highest VmRSS a sampling thread
  saw every few ms, whichever is higher) and after; the peak growth is peak - before. A warm-up
  export of the baseline window runs first, unmeasured, so one-off allocations (code run for the
  first time, the pool's connection, prepared statements) count for neither side; the full
  export runs twice (the second's growth shows whether anything is held per row);
- the rows read are parsed as CSV and checked against the API's count, and their ids must be
  distinct (a keyset page read twice or skipped would show): a difference stops the bench.

The target: the peak growth at full size at most twice the baseline's, or at most 4 MiB (the
baseline's own growth can be ~0 after the warm-up, and a few MiB is the allocator's noise; a
buffered export of 200,000 rows would hold ~60 MB of CSV text alone).

statistics.csv is one computation in SQL whose rows are its groupings (not the conversations):
measured over the seed's whole year for its time and memory, and its `total` row's
`conversations` checked against the conversations count of the same window.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from bench.cpu import status_kib

#: rows of the baseline export (fewer at tiny scales: a tenth of the conversations)
BASELINE_ROWS = 1000
#: the memory target's allowance: whatever the baseline, this much growth passes
ALLOWANCE_MIB = 4.0
SAMPLE_SECONDS = 0.005
COUNT = "query($filter: ConversationFilter) { conversations(filter: $filter, first: 1) { totalCount } }"


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0, our own child); False when refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class PeakRss:
    """The server's VmRSS before, the highest while the block runs (sampled and VmHWM), and after."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = self.peak = self.after = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, status_kib(self.pid, "VmRSS"))

    def __enter__(self) -> "PeakRss":
        self.hwm_reset = reset_peak(self.pid)
        self.before = self.peak = status_kib(self.pid, "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.after = status_kib(self.pid, "VmRSS")
        if self.hwm_reset:
            self.peak = max(self.peak, status_kib(self.pid, "VmHWM"))

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / 1024

    def describe(self) -> str:
        return f"VmRSS {self.before / 1024:.1f} -> peak {self.peak / 1024:.1f} -> after {self.after / 1024:.1f} MiB"


@dataclass
class Export:
    rows: list[list[str]] | None
    count: int
    distinct_ids: int
    seconds: float
    first_byte_seconds: float
    size_bytes: int
    memory: PeakRss

    @property
    def rows_per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def stream_csv(client: httpx.Client, pid: int, path: str, params: dict[str, str], *, keep: bool = False) -> Export:
    """GET the export, parse it as CSV as it arrives; the server's memory meanwhile."""
    ids: set[str] = set()
    kept: list[list[str]] = []
    count = size = 0
    with PeakRss(pid) as memory:
        started = time.perf_counter()
        with client.stream("GET", path, params=params) as response:
            if response.status_code != 200:
                response.read()
                raise RuntimeError(f"GET {path} {params}: HTTP {response.status_code} {response.text[:300]}")
            first_byte = time.perf_counter() - started

            def lines() -> Any:
                nonlocal size
                for line in response.iter_lines():
                    size += len(line) + 2
                    yield line

            reader = csv.reader(lines())
            header = next(reader)
            for row in reader:
                count += 1
                if header[0] == "id":
                    ids.add(row[0])
                if keep:
                    kept.append(row)
        seconds = time.perf_counter() - started
    return Export([header, *kept] if keep else None, count, len(ids), seconds, first_byte, size, memory)


def api_count(client: httpx.Client, filter: dict[str, Any] | None = None) -> int:
    answer = client.post("/graphql", json={"query": COUNT, "variables": {"filter": filter}}).json()
    if answer.get("errors"):
        raise RuntimeError(f"conversations' totalCount: {answer['errors']}")
    return int(answer["data"]["conversations"]["totalCount"])


async def nth_newest_created_at(url: str, n: int) -> datetime:
    import asyncpg

    db = await asyncpg.connect(url, timeout=10)
    try:
        found = await db.fetchval("SELECT created_at FROM chat WHERE kind = 'CUSTOMER' "
                                  "ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1", n - 1)
    finally:
        await db.close()
    if found is None:
        raise RuntimeError(f"fewer than {n} conversations: reseed (--reseed)")
    return found


def run_b7(server: Any, url: str, token: str, args: argparse.Namespace) -> list:
    from bench.run import Row, ratio, verdict

    pid = server.process.pid
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=httpx.Timeout(30, read=120)) as client:
        total = api_count(client)
        small = min(BASELINE_ROWS, max(1, total // 10))
        since = asyncio.run(nth_newest_created_at(url, small)).isoformat()
        small_total = api_count(client, {"from": since})
        print(f"[bench] B7 export: conversations.csv of {total} conversations, baseline {small_total} "
              f"(from {since})", flush=True)
        stream_csv(client, pid, "/exports/conversations.csv", {"from": since})  # warm-up, not measured
        baseline = stream_csv(client, pid, "/exports/conversations.csv", {"from": since})
        full = stream_csv(client, pid, "/exports/conversations.csv", {})
        again = stream_csv(client, pid, "/exports/conversations.csv", {})
        for name, export, expected in (("baseline", baseline, small_total), ("full", full, total),
                                       ("full, again", again, total)):
            if export.count != expected or export.distinct_ids != expected:
                raise RuntimeError(f"B7 {name} export: {export.count} rows ({export.distinct_ids} distinct ids), "
                                   f"the API counts {expected}")
            print(f"[bench] B7 {name}: {export.count} rows in {export.seconds:.2f}s "
                  f"({export.rows_per_second:.0f} rows/s), server {export.memory.describe()}", flush=True)
        to = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
        since_year = (to - timedelta(days=400)).isoformat()
        statistics = stream_csv(client, pid, "/exports/statistics.csv", {"from": since_year, "to": to.isoformat()},
                                keep=True)
        in_window = api_count(client, {"from": since_year, "to": to.isoformat()})
    assert statistics.rows is not None
    header, totals = statistics.rows[0], statistics.rows[1]
    stated = int(totals[header.index("conversations")])
    print(f"[bench] B7 statistics.csv: {statistics.count} rows in {statistics.seconds:.2f}s, total "
          f"{stated} conversations (the API counts {in_window}), server {statistics.memory.describe()}", flush=True)

    label = f"B7 conversations.csv ({full.count} rows)"
    growth, base_growth = round(full.memory.growth_mib, 1), round(baseline.memory.growth_mib, 1)
    held = growth <= max(2 * base_growth, ALLOWANCE_MIB)
    return [
        Row(label, "rows = totalCount", f"{full.count}/{total}", f"{baseline.count}/{small_total}",
            target="equal, ids distinct", verdict=verdict(full.count == total and baseline.count == small_total),
            note=f"baseline: the same export from {since} (the {small}th newest conversation on)"),
        Row(label, "seconds", round(full.seconds, 2), round(baseline.seconds, 3),
            note=f"first byte after {full.first_byte_seconds * 1000:.0f} ms (baseline "
                 f"{baseline.first_byte_seconds * 1000:.0f} ms); {full.size_bytes / 1e6:.1f} MB of CSV"),
        Row(label, "rows/s", round(full.rows_per_second), round(baseline.rows_per_second),
            ratio(full.rows_per_second, baseline.rows_per_second)),
        Row(label, "server peak RSS growth MiB", growth, base_growth, ratio(growth, base_growth),
            target=f"<= 2 x baseline or <= {ALLOWANCE_MIB:g} MiB", verdict=verdict(held),
            note=f"full: {full.memory.describe()}; baseline: {baseline.memory.describe()}"
                 + ("" if full.memory.hwm_reset else "; VmHWM not resettable: sampled VmRSS only")),
        Row(label, "server peak RSS growth MiB, again", round(again.memory.growth_mib, 1),
            note=f"the full export a second time: {again.memory.describe()} (memory held per row would grow "
                 f"again; {again.count} rows in {again.seconds:.2f}s)"),
        Row("B7 statistics.csv (400 days)", "seconds", round(statistics.seconds, 3),
            note=f"{statistics.count} rows (every grouping); server {statistics.memory.describe()}"),
        Row("B7 statistics.csv (400 days)", "server peak RSS growth MiB", round(statistics.memory.growth_mib, 1)),
        Row("B7 statistics.csv (400 days)", "total = totalCount", f"{stated}/{in_window}", target="equal",
            verdict=verdict(stated == in_window)),
    ]
