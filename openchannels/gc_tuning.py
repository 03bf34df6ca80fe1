"""Garbage collection for a server that allocates a lot per request and keeps a large, long-lived heap.

Why: a 50-chat list builds some ten thousand short-lived objects; with Python's default
threshold (a young collection every 700 net allocations) collections run many times per
request, and every third-generation pass walks the whole heap: the schema, the ORM's
metadata, the imported modules, none of which ever become garbage. Measured with the bench
server under B1 (16 connections, myChats): 3.43/3.12 -> 2.87/2.92 ms of CPU per request.

So once the app has started, what exists is frozen (`gc.freeze`: moved out of the
collector's sight for good) and young collections run every `threshold` allocations. The
collector still runs; reference counting still frees most objects at once.
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
