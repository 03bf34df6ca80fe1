"""Garbage collection for a server that allocates a lot per request and keeps a large, long-lived heap.

Why: a 50-chat list builds some ten thousand short-lived objects; with Python's default
threshold (a young collection every 700 net allocations) collections run many times per
request, and every third-generation pass walks the whole heap: the schema, the ORM's
metadata, the imported modules, none of which ever become garbage. Measured with the bench
server under B1 (16 connections, myChats): 3.43/3.12 -> 2.87/2.92 ms of CPU per request.

So once the app has started, what exists is frozen (`gc.freeze`: moved out of the
collector's sight for good) and young collections run every `threshold` allocations. The
collector still runs; reference counting still frees most objects at once.

Not too far apart, though: a young collection stops every request in flight, and its pause grows
faster than its threshold (the young objects no longer fit the CPU's caches). At the bench's full
size, every 20,000 allocations a young collection took 8.8-9 ms, every 5,000 1.7-2.1 ms; the lists'
p99 fell from 1.58-1.61 to 1.39-1.43 x the hand-written endpoint's and sendMessage's p99 from
2.05-2.12 to 1.63-1.64 x its own p50, for the same requests per second (two alternating runs each
of `python -m bench --scale 1 --only B1,B3`).

Since then a request leaves no reference cycle (schema/plain_execution.py `_helpers_of`): what it
made is freed when it ends, and the young generation, which counts allocations net of frees, fills
only while requests in flight hold more than the threshold: 5-6 young collections in B1b's window
instead of 80-103.
"""
from __future__ import annotations

import gc
import logging

log = logging.getLogger("openchannels.gc")


_DEFAULT_THRESHOLD = gc.get_threshold()


def tune_garbage_collection(threshold: int) -> None:
    """Freeze the start-up heap and space out young collections (`threshold` 0: Python's defaults)."""
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)
    log.debug("garbage collection: %d objects frozen, young threshold %d", gc.get_freeze_count(), threshold)


def restore_garbage_collection() -> None:
    """At shutdown: what was frozen may be collected again, at Python's pace (a process that runs
    the app several times, such as the tests, does not keep every run's heap)."""
    gc.unfreeze()
    gc.set_threshold(*_DEFAULT_THRESHOLD)
