"""This server process in the presence tables (services/chats/presence.py): its id, its heartbeat,
and the operators' WebSockets it holds.

One `ServerPresence` per application, made at start-up (openchannels/app.py): the lifespan
registers the process and runs the heartbeat (`run`), the WebSocket handler reports each operator's
connection as it is authenticated and as it closes (`opened`, `closed`), and a clean shutdown
removes the process's rows at once (`retire`). A close that could not be written (the database
was unreachable) is written again at the next heartbeat: otherwise the row would live as long as
the process. After a pause longer than the expiry (the process was declared dead and its rows
removed), the next heartbeat registers the process and the connections it still holds again.

At most `WRITES_AT_ONCE` of these writes run at a time; the others wait here, not in the database
pool. Each one locks its operator's row, so a burst (thousands of one operator's WebSockets
opening or closing at once, as after a network outage or under the bench's 5,000 subscribers)
would otherwise fill the pool with transactions that wait for each other, and every other request
of the process would wait for a connection meanwhile: seconds, measured after the bench's B2.
And the closes of one operator that wait meanwhile are written together, in one transaction: a
burst of closes costs a few transactions, not one each.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass

from services.chats import presence
from services.chats.presence import PresenceTimes

log = logging.getLogger("openchannels.presence")

#: presence writes of one process at a time (of DATABASE_POOL_SIZE's connections, 10 by default)
WRITES_AT_ONCE = 2


@dataclass(eq=False)
class HeldConnection:
    """One operator's WebSocket on this process; `connection_id`: its row (None: not written)."""

    operator_id: int
    connection_id: int | None = None


@dataclass(eq=False)
class _Closes:
    """Closes of one operator's connections waiting for a write slot: the first one's call writes
    them all (`ServerPresence.closed`), the others' calls wait for `written`."""

    held: list[HeldConnection]
    written: asyncio.Future


class ServerPresence:
    def __init__(self, times: PresenceTimes, process_id: str | None = None) -> None:
        self.times = times
        #: unique per process start: host, pid and a random part (a restarted pid is another process)
        self.process_id = process_id or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._held: set[HeldConnection] = set()
        #: connections closed whose row could not be deleted yet
        self._unwritten_closes: list[HeldConnection] = []
        self._writes = asyncio.Semaphore(WRITES_AT_ONCE)
        #: per operator, the closes waiting for a write slot (written together when it comes)
        self._waiting_closes: dict[int, _Closes] = {}

    async def start(self) -> None:
        """Register the process. The server starts even when that cannot be written now (the
        database is unreachable or not migrated yet): the heartbeat registers it later."""
        try:
            await presence.renew_process(self.process_id)
        except Exception:  # noqa: BLE001 - presence is not worth a server that does not start
            log.warning("presence: process %s not registered yet (the heartbeat tries again)", self.process_id,
                        exc_info=True)

    async def opened(self, operator_id: int) -> HeldConnection:
        held = HeldConnection(operator_id)
        self._held.add(held)
        try:
            async with self._writes:
                held.connection_id = await presence.connection_opened(operator_id, self.process_id)
        except BaseException:
            self._held.discard(held)
            raise
        return held

    async def closed(self, held: HeldConnection) -> None:
        """Returns once the connection's row is deleted, or kept for the heartbeat to delete (the
        database failed). A close that finds another of the same operator waiting for a write slot
        joins it: the first one's call writes both."""
        self._held.discard(held)
        if held.connection_id is None:
            return
        waiting = self._waiting_closes.get(held.operator_id)
        if waiting is not None:
            waiting.held.append(held)
            await asyncio.shield(waiting.written)  # one close cancelled does not undo the others' write
            return
        closes = self._waiting_closes[held.operator_id] = _Closes([held], asyncio.get_running_loop().create_future())
        try:
            async with self._writes:
                del self._waiting_closes[held.operator_id]  # later closes wait for a slot of their own
                await presence.connections_closed(held.operator_id, _row_ids(closes.held))
        except BaseException as error:  # e.g. the database is unreachable: written at the next heartbeat
            if self._waiting_closes.get(held.operator_id) is closes:  # cancelled before a slot came
                del self._waiting_closes[held.operator_id]
            self._unwritten_closes += closes.held
            if not isinstance(error, Exception):
                raise  # cancelled: the closes that joined are written at the next heartbeat too
            log.warning("the close of %d of operator %s's connections is not written yet", len(closes.held),
                        held.operator_id, exc_info=True)
        finally:
            if not closes.written.done():
                closes.written.set_result(None)

    async def beat(self) -> None:
        """Renew the heartbeat; write the closes left over (each operator's together); register
        again if declared dead."""
        alive = await presence.renew_process(self.process_id)
        while self._unwritten_closes:
            operator_id = self._unwritten_closes[0].operator_id
            theirs = [held for held in self._unwritten_closes if held.operator_id == operator_id]
            await presence.connections_closed(operator_id, _row_ids(theirs))
            # exactly these: a close of theirs that failed meanwhile was added and is still to write
            written = set(theirs)
            self._unwritten_closes = [held for held in self._unwritten_closes if held not in written]
        if not alive:
            log.warning("process %s had been declared dead: registering its %d connections again",
                        self.process_id, len(self._held))
            await presence.drop_process_connections(self.process_id)
            for held in list(self._held):
                held.connection_id = await presence.connection_opened(held.operator_id, self.process_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every PRESENCE_HEARTBEAT_SECONDS until `stop` is set; a failure is logged and retried."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.times.heartbeat_seconds)
            except asyncio.TimeoutError:
                pass
            if stop.is_set():
                return
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat
                log.warning("presence heartbeat failed", exc_info=True)

    async def retire(self) -> None:
        """A clean shutdown: this process's connections and row go now."""
        await presence.retire_process(self.process_id)


def _row_ids(held: list[HeldConnection]) -> list[int]:
    return [h.connection_id for h in held if h.connection_id is not None]
