"""Service-level agreements (stub until SLA policies land; replaced by the SLA module)."""
from __future__ import annotations


async def breached_unfinished_by_channel(channel_ids: list[int]) -> dict[int, int]:
    """stub until SLA policies land; replaced by the SLA module

    For each channel: how many of its chats that are not finished missed a service-level target."""
    return {channel_id: 0 for channel_id in channel_ids}
