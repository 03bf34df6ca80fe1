"""Seeded random walks of a busy queue with the clock moving: after every scheduler tick,
nothing due is left unfired, and the queue's invariants hold."""
from __future__ import annotations

import random

import pytest

from models import Chat, ChatOffer, ChatStatus, OperatorStatus, QueueDistribution, Timer
from services.chats import chats
from services.messaging import messages
from services.chats import operators
from services.chats import queue
from services.automation import scheduler
from services.common.errors import DomainError
from tests.factories import make_open_channel, make_operator, start_chat

QUEUED, ACTIVE = ChatStatus.QUEUED, ChatStatus.ACTIVE
LIMIT = 2


async def check_invariants(cast) -> None:
    now = queue.now()
    assert not await Timer.filter(due_at__lte=now).exists(), "a due timer survived a tick"
    assert not await Chat.filter(status=ACTIVE, pinned=False, auto_close_at__lte=now).exists(), \
        "an idle chat survived a tick"
    for chat in await Chat.all():
        offered = await ChatOffer.filter(chat_id=chat.id).exists()
        timer = await Timer.filter(chat_id=chat.id).exists()
        if chat.status == QUEUED:
            assert offered == timer, "an offer runs exactly while its timer does"
        else:
            assert not offered and not timer
        if chat.status == ACTIVE:
            assert (chat.auto_close_at is None) == chat.pinned
    for operator, _ in cast:
        assert await Chat.filter(operator_id=operator.id, status=ACTIVE).count() <= LIMIT


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("distribution", [QueueDistribution.STRICT, QueueDistribution.EVENLY, QueueDistribution.ALL])
async def test_a_random_day_in_the_queue(db, clock, seed, distribution):
    rng = random.Random(seed)
    cast = [await make_operator(f"Op {n}") for n in range(3)]
    channel = await make_open_channel([op for op, _ in cast], distribution=distribution, answer_timeout_seconds=20,
                                      auto_close_after_seconds=120, max_chats_per_operator=LIMIT)
    visitors = []
    fired = 0
    for _ in range(40):
        step = rng.choice(["visitor", "visitor", "answer", "answer", "finish", "status", "write", "pin", "time"])
        operator, viewer = rng.choice(cast)
        try:
            if step == "visitor":
                _, visitor, _ = await start_chat(channel)
                visitors.append(visitor)
            elif step == "answer":
                offered = await ChatOffer.filter(operator_id=operator.id).values_list("chat_id", flat=True)
                if offered:
                    await chats.answer_chat(viewer, chat_id=rng.choice(offered))
            elif step in ("finish", "write", "pin"):
                mine = await Chat.filter(operator_id=operator.id, status=ACTIVE).values_list("id", flat=True)
                if mine:
                    chat_id = rng.choice(mine)
                    if step == "finish":
                        await chats.finish_chat(viewer, chat_id=chat_id)
                    elif step == "write":
                        await messages.send_message(viewer, chat_id=chat_id, text="Working on it")
                    else:
                        pinned = (await Chat.get(id=chat_id)).pinned
                        await chats.pin_chat(viewer, chat_id=chat_id, pinned=not pinned)
            elif step == "status":
                await operators.set_status(viewer, status=rng.choice(list(OperatorStatus)))
            else:
                clock.advance(rng.choice([5, 20, 60, 130]))
        except DomainError as error:
            assert error.code == "LIMIT_EXCEEDED", error  # the only refusal this walk can meet
        fired += await scheduler.tick()
        await check_invariants(cast)
    assert visitors, "the walk started no chat"
    assert fired > 0, "the clock never made anything fire"
