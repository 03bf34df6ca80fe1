"""Outbound delivery of connectors: a durable outbox, filled from the event log, delivered in
order and retried with backoff until the messenger acknowledges.

- Relay: MESSAGE_ADDED events that are visible to the client (never a silent note) of an
  operator's message in a chat whose client came through a connector become outbox rows. The
  event log is read past a cursor row locked for the step; event ids commit in id order
  (services/events/events.py), so nothing is skipped and nothing is relayed twice.
- Delivery: one loop at a time per connector (a lease on the connector row, a conditional
  UPDATE); its rows in id order; the first failure stops that connector's round and moves the
  row's next attempt back (1 s, 2 s, 4 s ... at most 5 min), so replies arrive in order.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from tortoise.expressions import Q

from infrastructure.connector_transport import ConnectorTransport
from models import (
    Chat, Connector, ConnectorClient, ConnectorCursor, ConnectorOutbox, Event, Message, MessageAuthorKind,
)
from services.chats import queue
from services.automation.connector_adapters import ADAPTERS
from services.common.transactions import transaction

log = logging.getLogger("openchannels.connectors")

RELAY_BATCH = 500
DELIVERY_BATCH = 50
LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 300


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


async def relay() -> int:
    """Move newly committed visible operator messages of connector chats into the outbox; returns how many."""
    if not await Connector.exists():
        return 0
    await ConnectorCursor.bulk_create([ConnectorCursor(id=1, last_event_id=0)], ignore_conflicts=True)
    async with transaction() as tx:
        cursor = await ConnectorCursor.filter(id=1).using_db(tx).select_for_update().get()
        events = await (Event.filter(id__gt=cursor.last_event_id, kind="MESSAGE_ADDED", visitor_visible=True)
                        .using_db(tx).order_by("id").limit(RELAY_BATCH).values_list("id", "message_id", "chat_id"))
        if not events:
            return 0
        message_ids = [m for _, m, _ in events if m is not None]
        replies = {m.id: m for m in await Message.filter(id__in=message_ids, author_kind=MessageAuthorKind.OPERATOR,
                                                         silent=False).using_db(tx)}
        clients = dict(await Chat.filter(id__in=[c for _, _, c in events]).using_db(tx).values_list("id", "client_id"))
        identities: dict[int | None, ConnectorClient] = {i.client_id: i for i in await ConnectorClient.filter(
            client_id__in=[c for c in clients.values() if c is not None]).using_db(tx)}
        items = []
        for _, message_id, chat_id in events:
            identity = identities.get(clients.get(chat_id))
            if message_id in replies and identity is not None:
                items.append(ConnectorOutbox(connector_id=identity.connector_id, message_id=message_id,
                                             external_id=identity.external_id, next_attempt_at=queue.now()))
        if items:
            await ConnectorOutbox.bulk_create(items, ignore_conflicts=True, using_db=tx)
        await ConnectorCursor.filter(id=1).using_db(tx).update(last_event_id=events[-1][0])
    return len(items)


async def deliver(transport: ConnectorTransport) -> int:
    """Deliver what is due through `transport` (the platform's), connector by connector, in order;
    returns how many were acknowledged."""
    now = queue.now()
    # values_list(flat=True) is typed as tuples by Tortoise: these are plain values
    due = set(cast(list[int], await ConnectorOutbox.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
                   .values_list("connector_id", flat=True)))
    if not due:
        return 0
    delivered = 0
    for connector_id in sorted(due):
        delivered += await _deliver_connector(connector_id, transport)
    return delivered


async def _deliver_connector(connector_id: int, transport: ConnectorTransport) -> int:
    now = queue.now()
    leased = await Connector.filter(Q(delivering_until__isnull=True) | Q(delivering_until__lt=now),
                                    id=connector_id).update(delivering_until=now + LEASE)
    if not leased:
        return 0  # another loop is delivering this connector's outbox
    delivered = 0
    try:
        connector = await Connector.get(id=connector_id)
        adapter = ADAPTERS[connector.kind]
        items = await ConnectorOutbox.filter(connector_id=connector_id, delivered_at__isnull=True) \
            .order_by("id").limit(DELIVERY_BATCH)
        for item in items:
            if item.next_attempt_at > now:
                break  # an earlier reply waits for its retry: later ones wait behind it
            message = await Message.get(id=item.message_id)
            try:
                if message.silent:  # never: the relay takes visible messages only
                    raise RuntimeError("a silent note is never delivered")
                await adapter.deliver(connector, item.external_id, message, transport, now)
            except Exception as error:  # the messenger is down or refused: retry later
                attempts = item.attempts + 1
                await ConnectorOutbox.filter(id=item.id).update(
                    attempts=attempts, next_attempt_at=now + backoff(attempts), last_error=str(error)[:500])
                log.warning("connector %s: delivery of message %s failed (attempt %s): %s",
                            connector_id, message.id, attempts, error)
                break
            await ConnectorOutbox.filter(id=item.id).update(attempts=item.attempts + 1, delivered_at=now)
            delivered += 1
    finally:
        await Connector.filter(id=connector_id).update(delivering_until=None)
    return delivered


async def backlog() -> dict[int, tuple[int, float]]:
    """Per connector: (replies not delivered yet, age in seconds of the oldest of them, 0 if none).

    Indexed queries per connector (connector_id, delivered_at, id): delivered rows stay in the
    table, and a count over all of them would grow with it (metrics, at each scrape)."""
    now = queue.now()
    result: dict[int, tuple[int, float]] = {}
    for connector_id in cast(list[int], await Connector.all().order_by("id").values_list("id", flat=True)):
        pending = ConnectorOutbox.filter(connector_id=connector_id, delivered_at__isnull=True)
        count = await pending.count()
        age = 0.0
        if count:
            oldest = await pending.order_by("id").first().values_list("message_id", flat=True)
            created = cast(datetime | None, await Message.filter(id=oldest).first().values_list("created_at", flat=True))
            age = max(0.0, (now - created).total_seconds()) if created else 0.0
        result[connector_id] = (count, age)
    return result
