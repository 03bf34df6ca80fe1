"""Timers: due times stored in the database, so that any server process can fire them and a
restart loses none.

A use case that starts something which may time out schedules a timer in its own unit of
work; the scheduler (services/automation/scheduler.py) claims due timers. Scheduling again moves the
due time of the existing row (one timer of a kind per chat), which also makes a claim on
the old due time fail: a timer fires at most once per due time.
"""
from __future__ import annotations

from datetime import datetime

from models import Timer
from services.events.events import UnitOfWork

OFFER_TIMEOUT = "OFFER_TIMEOUT"
#: a chat waiting while its channel is closed: offers start at the next opening
CHANNEL_OPENS = "CHANNEL_OPENS"
#: a chat waiting unanswered: its channel's no-answer rule is due (services/chats/no_answer.py)
NO_ANSWER = "NO_ANSWER"
#: SLA_FIRST_RESPONSE, SLA_NEXT_RESPONSE, SLA_RESOLUTION: a service-level target's warning or due
#: time (services/chats/sla.py TIMER_KINDS)


async def schedule(uow: UnitOfWork, kind: str, chat_id: int, due_at: datetime) -> None:
    """Set (or move) the chat's timer of this kind: one upsert (INSERT ... ON CONFLICT DO UPDATE)."""
    await Timer.bulk_create([Timer(kind=kind, chat_id=chat_id, due_at=due_at)], on_conflict=["kind", "chat_id"],
                            update_fields=["due_at"], using_db=uow.tx)


async def cancel(uow: UnitOfWork, kind: str, chat_id: int) -> None:
    await Timer.filter(kind=kind, chat_id=chat_id).using_db(uow.tx).delete()


async def claim(uow: UnitOfWork, timer_id: int, now: datetime) -> bool:
    """Take a due timer for this transaction: a conditional DELETE, so exactly one caller wins.

    A timer moved to a later due time meanwhile is not due any more and is not claimed.
    """
    return bool(await Timer.filter(id=timer_id, due_at__lte=now).using_db(uow.tx).delete())


async def due(kind: str, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(timer id, chat id) of due timers of this kind, the most overdue first."""
    return list(await Timer.filter(kind=kind, due_at__lte=now).order_by("due_at", "id").limit(limit)
                .values_list("id", "chat_id"))
