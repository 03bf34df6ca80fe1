"""Loaders shared by several subscriptions of one viewer (resolvers/chats/event_sharing.py): one
of them stopped while it waits for a load must not leave the others waiting for ever."""
from __future__ import annotations

import asyncio

from resolvers.dataloader import DataLoader


async def test_a_cancelled_caller_does_not_strand_the_next_one():
    calls: list[list[int]] = []

    async def load(keys: list[int]) -> list[str]:
        calls.append(keys)
        return [f"value {k}" for k in keys]

    loader: DataLoader[int, str] = DataLoader(load)

    async def caller() -> str:
        return await loader.load(1)

    stopped = asyncio.ensure_future(caller())
    await asyncio.sleep(0)  # it waits for the load now
    stopped.cancel()        # the client stopped that subscription
    other = await asyncio.wait_for(caller(), 5)  # Strawberry's own DataLoader: waits for ever
    assert other == "value 1"
    assert stopped.cancelled()
    assert calls == [[1]]  # loaded once, for both
