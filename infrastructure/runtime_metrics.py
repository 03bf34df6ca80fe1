"""Where a slow request's time went when it was not in its own code: garbage-collection pauses and
event-loop stalls, as Prometheus histograms (served with the others, infrastructure/metrics.py).

- `openchannels_gc_pause_seconds{generation}`: every collection, timed from the collector's own
  start and stop callbacks (`gc.callbacks`): a pause every request in flight waits through.
- `openchannels_event_loop_lag_seconds`: a task asks to wake every LOOP_PROBE_SECONDS and records
  how late it woke: the time a callback held the loop (a long statement's result decoded in one
  go, a large page rendered, a collection) while every other request waited.

Their p99 beside the requests' (`openchannels_graphql_operation_seconds`) tells whether a tail
comes from the process itself; pool waits show as `openchannels_database_pool_in_use` at its max.
"""
from __future__ import annotations

import asyncio
import gc
import time
from contextlib import suppress
from typing import Any

from prometheus_client import Histogram

_PAUSE_BUCKETS = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
#: how often the loop probe asks to wake
LOOP_PROBE_SECONDS = 0.1

GC_PAUSE_SECONDS = Histogram("openchannels_gc_pause_seconds", "Garbage-collection pauses of this process, by the "
                             "oldest generation collected", ["generation"], buckets=_PAUSE_BUCKETS)
EVENT_LOOP_LAG = Histogram("openchannels_event_loop_lag_seconds", "How late the event loop ran a callback due "
                           f"every {LOOP_PROBE_SECONDS:g} s: the time something else held the loop",
                           buckets=_PAUSE_BUCKETS)

_pauses = [GC_PAUSE_SECONDS.labels(generation=str(generation)) for generation in range(3)]
_started: list[float] = [0.0]


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _pauses[info["generation"]].observe(time.perf_counter() - _started[0])


def watch_garbage_collection() -> None:
    """Time every collection from now on (idempotent)."""
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


def unwatch_garbage_collection() -> None:
    with suppress(ValueError):
        gc.callbacks.remove(_on_collection)


async def probe_event_loop(interval: float = LOOP_PROBE_SECONDS) -> None:
    """Run until cancelled: wake every `interval`, record how late."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(interval)
        EVENT_LOOP_LAG.observe(max(0.0, loop.time() - asked - interval))
