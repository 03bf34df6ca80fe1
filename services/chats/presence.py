"""Operators' presence: who has a WebSocket open now (`connected`), since when someone is gone
(`last_seen_at`), and the rule that makes an operator who left AWAY.

Presence lives in the database every server process shares (SQLite with one process, PostgreSQL
with many; Redis only carries the resulting events live):

- each process has a row in `server_process` and renews its `heartbeat_at` every
  PRESENCE_HEARTBEAT_SECONDS (services/chats/server_presence.py); a process whose heartbeat is
  older than PRESENCE_PROCESS_EXPIRY_SECONDS is dead;
- an operator's WebSocket, once its connection_init authenticated them, is a row of
  `operator_connection` held by its process; closing it deletes the row, and the operator's last
  one sets `last_seen_at` (null while connected);
- `connected` = the operator has a row. The sweep (the scheduler's, every round) deletes the rows of
  dead processes (a killed process leaves nobody connected for longer than its expiry and a round),
  then makes AWAY every ONLINE operator without a connection whose `last_seen_at` is
  PRESENCE_GRACE_SECONDS old or more: their offers pass on exactly as on `setStatus(AWAY)`
  (services/chats/operators.py `change_status`), and they are marked `away_by_presence`;
- reconnecting makes an operator marked so ONLINE again (offers as on `setStatus(ONLINE)`); a
  status set by hand clears the mark, so an operator who chose AWAY stays AWAY.

Every change of `connected` or of the status writes an OPERATOR_PRESENCE event in its transaction.
Each operator's changes take their row's lock first (FOR UPDATE on PostgreSQL): two connections
closing at once on two processes cannot both believe the other is still open. Every function that
looks at the time takes `now` (default: the services' clock, `services.chats.queue.now`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from tortoise.expressions import Subquery

from models import Operator, OperatorConnection, OperatorStatus, ServerProcess
from services.chats import queue
from services.chats.operators import change_status, record_presence
from services.events.events import UnitOfWork, unit_of_work
from services.identity.viewer import Viewer
from services.policies import operators as policy

#: dead processes, and operators past the grace time, handled per sweep (the next takes the rest)
SWEEP_BATCH = 100


@dataclass(frozen=True)
class PresenceTimes:
    """PRESENCE_GRACE_SECONDS, PRESENCE_HEARTBEAT_SECONDS, PRESENCE_PROCESS_EXPIRY_SECONDS."""

    grace_seconds: float = 60.0
    heartbeat_seconds: float = 10.0
    process_expiry_seconds: float = 30.0


@dataclass(frozen=True)
class OperatorPresence:
    connected: bool
    last_seen_at: datetime | None


def _at(now: datetime | None) -> datetime:
    return now if now is not None else queue.now()


async def _lock_operator(uow: UnitOfWork, operator_id: int) -> Operator | None:
    return await Operator.filter(id=operator_id).using_db(uow.tx).select_for_update().first()


async def _has_connection(uow: UnitOfWork, operator_id: int) -> bool:
    return await OperatorConnection.filter(operator_id=operator_id).using_db(uow.tx).exists()


# ---------------------------------------------------------------- connections


async def connection_opened(operator_id: int, process_id: str, *, now: datetime | None = None) -> int | None:
    """An operator's WebSocket was authenticated on this process: its row's id (None: no such operator).
    Their first connection makes them connected; AWAY by the presence rule, they are ONLINE again."""
    at = _at(now)
    async with unit_of_work() as uow:
        operator = await _lock_operator(uow, operator_id)
        if operator is None:
            return None
        was_connected = await _has_connection(uow, operator_id)
        connection = await OperatorConnection.create(process_id=process_id, operator_id=operator_id, opened_at=at,
                                                     using_db=uow.tx)
        if operator.last_seen_at is not None:
            await Operator.filter(id=operator_id).using_db(uow.tx).update(last_seen_at=None)
        back = operator.away_by_presence and operator.status == OperatorStatus.AWAY
        if not (back and await change_status(uow, operator_id, OperatorStatus.ONLINE, connected=True)) \
                and not was_connected:
            record_presence(uow, operator_id, operator.status, True)
    return connection.id


async def connections_closed(operator_id: int, connection_ids: list[int], *, now: datetime | None = None) -> None:
    """WebSockets of one operator closed: their rows go, in one transaction; when none is left, they
    are not connected, seen `now`."""
    async with unit_of_work() as uow:
        await _drop_connections(uow, operator_id, connection_ids, _at(now))


async def _drop_connections(uow: UnitOfWork, operator_id: int, connection_ids: list[int], last_seen: datetime) -> int:
    """Delete these connections of the operator (under their row's lock); when none is left, they are
    seen last at `last_seen` and no longer connected (an event). Returns how many rows went."""
    operator = await _lock_operator(uow, operator_id)
    deleted = await OperatorConnection.filter(id__in=connection_ids, operator_id=operator_id).using_db(uow.tx).delete()
    if operator is None or not deleted or await _has_connection(uow, operator_id):
        return deleted
    await Operator.filter(id=operator_id).using_db(uow.tx).update(last_seen_at=last_seen)
    record_presence(uow, operator_id, operator.status, False)
    return deleted


# ---------------------------------------------------------------- server processes


async def renew_process(process_id: str, *, now: datetime | None = None) -> bool:
    """The process's heartbeat (registering it the first time). False when its row was gone: it had
    been declared dead (a pause longer than the expiry) and its connections removed; the caller
    registers what it still holds again (services/chats/server_presence.py)."""
    at = _at(now)
    if await ServerProcess.filter(id=process_id).update(heartbeat_at=at):
        return True
    await ServerProcess.create(id=process_id, started_at=at, heartbeat_at=at)
    return False


async def drop_process_connections(process_id: str, *, now: datetime | None = None) -> int:
    """Every connection row of the process goes (its operators without another are seen last `now`)."""
    at = _at(now)
    dropped = 0
    for operator_id, ids in (await _connections_by_operator(OperatorConnection.filter(process_id=process_id))).items():
        async with unit_of_work() as uow:
            dropped += await _drop_connections(uow, operator_id, ids, at)
    return dropped


async def retire_process(process_id: str, *, now: datetime | None = None) -> None:
    """A process that stops cleanly: its connections and its row go at once (not after the expiry)."""
    await ServerProcess.filter(id=process_id).delete()
    await drop_process_connections(process_id, now=now)


async def _connections_by_operator(rows) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for connection_id, operator_id in await rows.order_by("operator_id", "id").values_list("id", "operator_id"):
        found.setdefault(operator_id, []).append(connection_id)
    return found


# ---------------------------------------------------------------- the sweep


async def sweep(times: PresenceTimes, *, now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """One round (any process may run it, in any number): dead processes' connections go, then
    operators gone for the grace time become AWAY. Returns how many processes and operators it handled."""
    at = _at(now)
    handled = 0
    expiry = at - timedelta(seconds=times.process_expiry_seconds)
    for process_id, heartbeat_at in await ServerProcess.filter(heartbeat_at__lt=expiry).order_by("heartbeat_at") \
            .limit(batch).values_list("id", "heartbeat_at"):
        # the conditional DELETE decides: a process that renewed meanwhile is alive, and one sweep buries it
        if await ServerProcess.filter(id=process_id, heartbeat_at__lt=expiry).delete():
            handled += 1
            await drop_process_connections(process_id, now=heartbeat_at)  # its last sign of life
    # rows of no registered process (opened while their process was being declared dead)
    orphans = OperatorConnection.exclude(process_id__in=Subquery(ServerProcess.all().values("id")))
    for operator_id, ids in (await _connections_by_operator(orphans.limit(batch))).items():
        async with unit_of_work() as uow:
            await _drop_connections(uow, operator_id, ids, expiry)
    grace = at - timedelta(seconds=times.grace_seconds)
    gone = cast(list[int], await Operator.filter(status=OperatorStatus.ONLINE, last_seen_at__lte=grace)
                .exclude(id__in=Subquery(OperatorConnection.all().values("operator_id")))
                .order_by("last_seen_at", "id").limit(batch).values_list("id", flat=True))
    for operator_id in gone:
        handled += await _away_after_grace(operator_id, grace)
    return handled


async def _away_after_grace(operator_id: int, grace: datetime) -> int:
    """AWAY by the presence rule, if still ONLINE, unconnected and gone since `grace` (checked under the lock)."""
    async with unit_of_work() as uow:
        operator = await _lock_operator(uow, operator_id)
        if (operator is None or operator.status != OperatorStatus.ONLINE or operator.last_seen_at is None
                or operator.last_seen_at > grace or await _has_connection(uow, operator_id)):
            return 0
        await change_status(uow, operator_id, OperatorStatus.AWAY, by_presence=True, connected=False)
    return 1


# ---------------------------------------------------------------- reading


async def followed_operators(viewer: Viewer) -> list[Operator]:
    """The `presence` query: the operators whose presence the viewer follows (the operator policy)."""
    return await policy.presence_operators(viewer).order_by("name", "id")


async def presence_of(viewer: Viewer, operator_ids: list[int]) -> dict[int, OperatorPresence]:
    """`connected` and `lastSeenAt` of these operators (staff details: operators only)."""
    policy.ensure_staff_details(viewer)
    connected = set(cast(list[int], await OperatorConnection.filter(operator_id__in=operator_ids)
                         .distinct().values_list("operator_id", flat=True)))
    seen = await policy.named_operators(viewer, operator_ids).values_list("id", "last_seen_at")
    return {operator_id: OperatorPresence(operator_id in connected, None if operator_id in connected else last_seen)
            for operator_id, last_seen in seen}
