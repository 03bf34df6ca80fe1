"""What a block leaves as cyclic garbage: the objects a full collection finds unreachable."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_garbage() -> Iterator[list[object]]:
    """Collections off for the block (what it leaves stays until the end); then the garbage a full
    collection finds (`gc.DEBUG_SAVEALL`) is put in the list yielded, and collections are back on."""
    found: list[object] = []
    gc.collect()
    gc.disable()
    try:
        yield found
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
