"""Tokens found valid, by digest, trusted for a while without reading the database again.

What a token stands for (the viewer) is the identity service's (services/identity/auth.py);
this is only the cache: an LRU of entries that expire `seconds` after they were put.
"""
from __future__ import annotations

import time
from typing import Generic, TypeVar

from infrastructure.lru import LRU

T = TypeVar("T")


class TokenCache(Generic[T]):
    """What a token digest was found to be, for `seconds` (0: nothing is kept, every use reads the
    database). Tokens not found are not kept (any string can be sent)."""

    def __init__(self, seconds: float = 0.0, size: int = 10_000) -> None:
        self.seconds = seconds
        self._entries: LRU[str, tuple[float, T]] = LRU(size)

    def get(self, digest: str) -> T | None:
        entry = self._entries.get(digest) if self.seconds > 0 else None
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, found: T) -> None:
        if self.seconds > 0:
            self._entries.put(digest, (time.monotonic() + self.seconds, found))

    def discard(self, digest: str) -> None:
        """Forget a token (revoked, or found changed): its next use reads the database."""
        self._entries.pop(digest)

    def clear(self) -> None:
        self._entries = LRU(self._entries.size)
