"""The scheduler: one loop per server process fires whatever is due.

Due times live in the database (the `timer` table, and `chat.auto_close_at`), so any
process may fire them and a restart loses none. Several loops (several processes) may run
at once: each item is claimed in its own transaction (FOR UPDATE SKIP LOCKED on PostgreSQL,
the single writer on SQLite, and a conditional write on both), so it fires exactly once.
`tick()` is the whole job; the loop only repeats it. Time comes from `services.chats.queue.now`.
With `presence` (the app's PRESENCE_* times), each round also sweeps presence
(services/chats/presence.py: dead processes' connections, operators gone past the grace time).
"""
from __future__ import annotations

import asyncio
import logging
import time

from infrastructure.connector_transport import ConnectorTransport, HttpConnectorTransport
from infrastructure.metrics import SCHEDULER_FAILURES, SCHEDULER_LAG, SCHEDULER_ROUND_SECONDS
from infrastructure.platform import Platform
from infrastructure.webhook_targets import WebhookTargets
from services.automation import connector_outbox, webhook_delivery
from services.chats import presence as operator_presence, queue, sla
from services.chats.presence import PresenceTimes
from services.automation import timeouts
from services.events import timers

log = logging.getLogger("openchannels.scheduler")

#: items of each kind looked at per tick (the next tick takes the rest)
BATCH = 100


async def tick(connectors: ConnectorTransport | None = None, batch: int = BATCH,
               presence: PresenceTimes | None = None, webhooks: WebhookTargets | None = None) -> int:
    """Fire every due item (up to `batch` of each kind); returns how many this call fired.
    Connector replies and outbound webhooks go out through `connectors` (the platform's; None: a
    transport of its own); `presence`: sweep presence with these times (None: not in this tick);
    `webhooks`: where webhooks may POST (the platform's; None: the default, no private addresses)."""
    fired = 0
    if presence is not None:
        fired += await operator_presence.sweep(presence, now=queue.now(), batch=batch)
    for timer_id, chat_id in await timers.due(timers.OFFER_TIMEOUT, queue.now(), batch):
        fired += await timeouts.expire_offer(timer_id=timer_id, chat_id=chat_id)
    for timer_id, chat_id in await timers.due(timers.CHANNEL_OPENS, queue.now(), batch):
        fired += await timeouts.offer_at_opening(timer_id=timer_id, chat_id=chat_id)
    for timer_id, chat_id in await timers.due(timers.NO_ANSWER, queue.now(), batch):
        fired += await timeouts.no_answer(timer_id=timer_id, chat_id=chat_id)
    for kind, target in sla.TARGET_OF_TIMER.items():
        for timer_id, chat_id in await timers.due(kind, queue.now(), batch):
            fired += await timeouts.sla_due(timer_id=timer_id, chat_id=chat_id, target=target)
    for chat_id in await timeouts.due_auto_closes(batch):
        fired += await timeouts.auto_close_chat(chat_id=chat_id)
    fired += await connector_outbox.relay()
    transport = connectors or HttpConnectorTransport()
    fired += await connector_outbox.deliver(transport)
    fired += await webhook_delivery.deliver(transport, webhooks or WebhookTargets(), batch)
    return fired


async def run(platform: Platform, interval_seconds: float, stop: asyncio.Event,
              presence: PresenceTimes | None = None) -> None:
    """Tick every `interval_seconds` until `stop` is set; an error is logged and the loop goes on.
    What fires publishes to `platform`'s broker; connector replies go out through its transport.

    Metrics: each round's duration, and its lag (how much later than planned it started: a busy
    event loop, or a previous round that took long, shows here)."""
    with platform.in_use():
        await _tick_until_stopped(platform, interval_seconds, stop, presence)


async def _tick_until_stopped(platform: Platform, interval_seconds: float, stop: asyncio.Event,
                              presence: PresenceTimes | None) -> None:
    planned: float | None = None
    while not stop.is_set():
        started = time.monotonic()
        if planned is not None:
            SCHEDULER_LAG.observe(max(0.0, started - planned))
        try:
            while await tick(platform.connectors, presence=presence, webhooks=platform.webhooks) \
                    and not stop.is_set():
                pass  # a full batch may leave more due: go on at once
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the loop
            SCHEDULER_FAILURES.inc()
            log.exception("scheduler tick failed")
        ended = time.monotonic()
        SCHEDULER_ROUND_SECONDS.observe(ended - started)
        planned = ended + interval_seconds
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
        except asyncio.TimeoutError:
            pass
