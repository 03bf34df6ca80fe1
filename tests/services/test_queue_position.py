"""Queue position and estimated wait of a waiting chat: the queue's own order (priority, then the
oldest), moving as chats ahead are answered, transferred or closed; the estimate from the channel's
recent answers."""
from __future__ import annotations

from datetime import timedelta

from models import Chat, ChatPriority, OperatorRole, OperatorStatus
from services.chats import chats, priorities, waiting
from tests.factories import make_open_channel, make_operator, start_chat


async def positions(chat_ids: list[int]) -> list[int | None]:
    found = await waiting.queue_positions(chat_ids)
    return [found.get(i) for i in chat_ids]


async def test_positions_follow_the_queue_order_and_move_with_it(db, clock):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a])
    other = await make_open_channel([])
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR, status=OperatorStatus.OFFLINE)
    first, second, third, fourth = [(await start_chat(channel))[0].id for _ in range(4)]
    assert await positions([first, second, third, fourth]) == [1, 2, 3, 4]

    await priorities.set_chat_priority(supervisor, chat_id=fourth, priority=ChatPriority.URGENT)
    assert await positions([first, second, third, fourth]) == [2, 3, 4, 1]

    await chats.answer_chat(a_viewer, chat_id=fourth)
    await chats.answer_chat(a_viewer, chat_id=first)
    assert await positions([first, second, third, fourth]) == [None, 1, 2, None]

    await chats.transfer_chat(supervisor, chat_id=second, open_channel_id=other.id)
    assert await positions([second, third]) == [1, 1]  # first in the other queue; next here


async def test_the_estimate_is_unknown_then_the_median_of_recent_waits(db, clock):
    a, a_viewer = await make_operator("A")
    channel = await make_open_channel([a])
    assert (await waiting.median_waits([channel.id]))[channel.id] is None

    for waited in (30, 90, 600):  # answered after these waits: the median is 90 s
        chat, _, _ = await start_chat(channel)
        await Chat.filter(id=chat.id).update(created_at=clock.now - timedelta(seconds=waited))
        await chats.answer_chat(a_viewer, chat_id=chat.id)
    median = (await waiting.median_waits([channel.id]))[channel.id]
    assert median == 90
    assert waiting.remaining_wait(median, clock.now) == 90
    assert waiting.remaining_wait(median, clock.now - timedelta(seconds=60)) == 30
    assert waiting.remaining_wait(median, clock.now - timedelta(seconds=600)) == 0

    clock.advance(waiting.RECENT_HOURS * 3600 + 1)  # answers of yesterday say nothing of today
    assert (await waiting.median_waits([channel.id]))[channel.id] is None
