"""A bounded map that forgets the least recently used entry: the caches of work done once per
document (validation, query-limit measures, plain-field plans, the relations a selection wants)
and the persisted queries. Bounded because their keys come from clients."""
from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The entry (now the most recently used), or None."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> V | None:
        """Remove the entry, if there is one; it, or None."""
        return self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
