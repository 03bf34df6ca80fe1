"""Strawberry's DataLoader, safe to share between callers that may be cancelled.

A subscription's event shares its loaders with the viewer's other subscriptions
(resolvers/chats/event_sharing.py). With Strawberry's DataLoader, a caller cancelled while it
awaits `load()` (a client stops its subscription) cancels the loader's future itself; when
every future of a batch is cancelled, the batch's dispatch is cancelled before it runs and is
never marked dispatched, so another subscription that then loads a key joins that batch and
waits for ever. Here each caller awaits its own shield of the loader's future: cancelling a
caller never cancels the load.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Generic, TypeVar

from strawberry.dataloader import DataLoader as _StrawberryDataLoader

K = TypeVar("K")
T = TypeVar("T")


class DataLoader(_StrawberryDataLoader[K, T], Generic[K, T]):
    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))


__all__ = ["DataLoader"]
