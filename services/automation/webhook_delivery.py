"""Delivery of outbound webhooks from the event log: at least once, in order per chat, signed.

- Each webhook reads the event log past its own cursor (`Webhook.delivered_event_id`). Event ids
  commit in id order (services/events/events.py), so reading past the cursor skips nothing, and
  the cursor lives in the database: a restart, a crash or another process goes on where it stood.
- One loop at a time per webhook: a lease on its row (a conditional UPDATE, as the connector
  outbox does); the others pass it by. The lease is renewed before each POST (a POST is bounded by
  the transport's timeout, well under the lease), only by the loop that holds it (the expiry it
  wrote is its token): a round longer than the lease keeps it, and a loop that lost it (paused
  past the expiry, another loop took over) stops before its next POST and never clears the other's.
- Events are POSTed one by one in id order; the cursor moves past an event once the receiver
  acknowledged it with a 2xx (or when the webhook does not take it: another kind, a silent note).
- In order per chat, not per webhook: an event the receiver refuses (it answered, not 2xx) holds
  its chat. The event stays in `webhook_delivery` (with its chat, not delivered) and is tried again
  after the connector outbox's backoff (1 s, 2 s, 4 s ... at most 5 min); each later event of that
  chat is put behind it (a row of its own) as the cursor passes it, and nothing of that chat is sent
  before the refused one is acknowledged; the other chats go on. Each round first sends the held
  chats that are due, then reads past the cursor. No answer at all (the receiver down) or an
  address refused stops the round and the whole webhook waits for the backoff. A crash between the
  POST and the cursor's move sends that event again: the receiver tells a repeat by
  `X-OpenChannels-Event-Id`.
- The cursor only moves with a conditional UPDATE from where the round read it: a replay
  (services/automation/webhooks.py) that moved it back meanwhile wins.
- The URL's addresses are checked before each round's first POST, and the round POSTs to the
  address that was checked, never resolving the name again (infrastructure/webhook_targets.py).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Min
from tortoise.queryset import QuerySet

from infrastructure.connector_transport import ConnectorTransport, status_of
from infrastructure.webhook_targets import Destination, RefusedTarget, WebhookTargets
from models import Chat, ChatLabel, ClientAttribute, Event, Message, Operator, Webhook, WebhookDelivery
from services.automation.connector_adapters import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from services.automation.connector_outbox import LEASE, backoff
from services.chats import queue
from services.events.records import EventRecord, record_of_row
from services.events.stream_position import latest_event_id
from services.policies import events as event_policy

log = logging.getLogger("openchannels.webhooks")

EVENT_ID_HEADER = "x-openchannels-event-id"
#: events read per webhook and round (the next round takes the rest)
BATCH = 100


def kind_for(webhook: Webhook, event: EventRecord) -> str | None:
    """The kind the webhook receives the event as (its QueueEventKind, else its ChatEventKind, the
    first the webhook asked for), or None when it does not receive it (another kind, a silent note
    for a webhook without includeSilentNotes, an event of no chat)."""
    if not event_policy.webhook_receives(event, include_silent_notes=webhook.include_silent_notes):
        return None
    kinds = [k.value for k in (event.queue_kind, event.chat_kind) if k is not None]
    if webhook.event_kinds:
        kinds = [k for k in kinds if k in webhook.event_kinds]
    return kinds[0] if kinds and event.chat_id is not None else None


async def payload(webhook: Webhook, event: EventRecord, kind: str) -> dict[str, Any] | None:
    """{"eventId", "kind", "chatId", "occurredAt", "actor", "state", "message"}: ids as decimal strings;
    the message as it is now (null when the event has none); `state` the chat right after the event,
    with its labels' names and its client's attributes as they are now (the delivery's time). None:
    the message is a silent note the webhook does not receive (the events policy, asked again with
    the message loaded)."""
    actor = await Operator.get_or_none(id=event.actor_id) if event.actor_id is not None else None
    message = await Message.get_or_none(id=event.message_id) if event.message_id is not None else None
    if not event_policy.webhook_receives(event, include_silent_notes=webhook.include_silent_notes,
                                         silent_message=message is not None and message.silent):
        return None
    state = event.state
    labels = cast(list[str], await ChatLabel.filter(chat_id=event.chat_id).order_by("label__name")
                  .values_list("label__name", flat=True))
    client_id = await Chat.filter(id=event.chat_id).values_list("client_id", flat=True)
    attributes = cast(list[tuple[str, str]], await ClientAttribute.filter(client_id=client_id[0]).order_by("key")
                      .values_list("key", "value")) if client_id and client_id[0] is not None else []
    return {
        "eventId": str(event.id),
        "kind": kind,
        "chatId": str(event.chat_id),
        "occurredAt": event.created_at.isoformat(),
        "actor": {"id": str(actor.id), "name": actor.name} if actor is not None else None,
        "state": None if state is None else {
            "status": state.status.value, "title": state.title, "pinned": state.pinned,
            "priority": state.priority.value,
            "operatorId": str(state.operator_id) if state.operator_id is not None else None,
            "openChannelId": str(state.open_channel_id) if state.open_channel_id is not None else None,
            "labels": labels, "clientAttributes": dict(attributes),
        },
        "message": None if message is None else {
            "id": str(message.id), "text": "" if message.deleted else message.text,
            "authorKind": str(getattr(message.author_kind, "value", message.author_kind)),
            "authorId": str(message.author_id) if message.author_id is not None else None,
            "silent": message.silent, "deleted": message.deleted, "createdAt": message.created_at.isoformat(),
        },
    }


async def deliver(transport: ConnectorTransport, targets: WebhookTargets, batch: int = BATCH) -> int:
    """Deliver what is due to every active webhook; returns how many events were acknowledged."""
    now = queue.now()
    rows = await Webhook.filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now), active=True) \
        .order_by("id").values_list("id", "delivered_event_id")
    due = cast(list[tuple[int, int]], rows)
    if not due:
        return 0
    newest = await latest_event_id()
    held_due = await _held_due([webhook_id for webhook_id, _ in due], now)
    delivered = 0
    for webhook_id, cursor in due:
        if cursor < newest or webhook_id in held_due:
            delivered += await _deliver_webhook(webhook_id, transport, targets, batch)
    return delivered


async def _held_due(webhook_ids: list[int], now: datetime) -> set[int]:
    """The webhooks with a held chat whose next attempt is due: each held chat's first waiting event
    (one row per held chat read, however many events wait behind it)."""
    firsts = cast(list[dict[str, int]], await _waiting().filter(webhook_id__in=webhook_ids)
                  .annotate(first=Min("event_id")).group_by("webhook_id", "chat_id").values("webhook_id", "first"))
    if not firsts:
        return set()
    heads = cast(list[tuple[int, int, datetime | None]], await WebhookDelivery.filter(
        webhook_id__in={row["webhook_id"] for row in firsts}, event_id__in={row["first"] for row in firsts})
        .values_list("webhook_id", "event_id", "next_attempt_at"))
    first_of = {(row["webhook_id"], row["first"]) for row in firsts}
    return {webhook_id for webhook_id, event_id, at in heads
            if (webhook_id, event_id) in first_of and (at is None or at <= now)}


def _waiting() -> QuerySet[WebhookDelivery]:
    """The events waiting in a held chat (the refused one first): rows not delivered, with their chat."""
    return WebhookDelivery.filter(delivered_at__isnull=True, chat_id__isnull=False)


SENT, SKIPPED, REFUSED, STOPPED = "sent", "skipped", "refused", "stopped"


class Round:
    """One loop's round on one webhook, under its lease."""

    def __init__(self, webhook: Webhook, transport: ConnectorTransport, targets: WebhookTargets,
                 lease: Lease) -> None:
        self.webhook, self.transport, self.targets, self.lease = webhook, transport, targets, lease
        self.destination: Destination | None = None
        self.delivered = 0
        #: the round's newest attempt failed (`failing` stays as that attempt set it)
        self.last_failed = False

    async def send(self, event: EventRecord, kind: str) -> str:
        """POST one event. SENT: acknowledged; SKIPPED: the webhook does not receive it; REFUSED: the
        receiver answered something else than 2xx (its chat is held, the other chats go on); STOPPED:
        the round stops (no answer, an address refused: the whole webhook waits for its backoff; or
        the lease was lost)."""
        if self.destination is None:
            try:
                self.destination = await self.targets.check(self.webhook.url)
            except RefusedTarget as refused:
                self.last_failed = True
                await _failed(self.webhook, event, None, str(refused), hold=False)
                return STOPPED
        content = await payload(self.webhook, event, kind)
        if content is None:
            return SKIPPED
        body = json.dumps(content, separators=(",", ":")).encode()
        if not await self.lease.renew():
            return STOPPED  # another loop took the webhook over: it goes on from the cursor
        try:
            status = await _post(self.webhook, self.destination, event, body, self.transport)
        except Exception as error:  # the receiver is down or refused: retry later
            answered = status_of(error)
            self.last_failed = True
            await _failed(self.webhook, event, answered, str(error), hold=answered is not None)
            return REFUSED if answered is not None else STOPPED
        await _acknowledged(self.webhook, event, status)
        self.delivered += 1
        self.last_failed = False
        return SENT

    async def held_chats(self, now: datetime) -> set[int] | None:
        """Send the waiting events of each held chat whose next attempt is due, in event order, up to
        a refusal; returns the chats still held (None: the round stops)."""
        waiting = await _waiting().filter(webhook_id=self.webhook.id).order_by("event_id")
        by_chat: dict[int, list[WebhookDelivery]] = {}
        for row in waiting:
            by_chat.setdefault(cast(int, row.chat_id), []).append(row)
        held: set[int] = set()
        for chat_id, rows in by_chat.items():
            if rows[0].next_attempt_at is not None and rows[0].next_attempt_at > now:
                held.add(chat_id)
                continue
            for row in rows:
                found = await Event.get_or_none(id=row.event_id)
                event = record_of_row(found) if found is not None else None
                kind = kind_for(self.webhook, event) if event is not None else None
                outcome = SKIPPED if event is None or kind is None else await self.send(event, kind)
                if outcome == SKIPPED:  # no longer received (new kinds): it waits no more
                    await WebhookDelivery.filter(id=row.id, attempts=0).delete()
                    await WebhookDelivery.filter(id=row.id).update(chat_id=None, next_attempt_at=None)
                elif outcome == REFUSED:
                    held.add(chat_id)
                    break
                elif outcome == STOPPED:
                    return None
        return held


async def _deliver_webhook(webhook_id: int, transport: ConnectorTransport, targets: WebhookTargets,
                           batch: int) -> int:
    now = queue.now()
    lease = Lease(webhook_id, now + LEASE)
    leased = await Webhook.filter(Q(delivering_until__isnull=True) | Q(delivering_until__lt=now),
                                  id=webhook_id).update(delivering_until=lease.until)
    if not leased:
        return 0  # another loop is delivering this webhook
    round_: Round | None = None
    try:
        webhook = await Webhook.get_or_none(id=webhook_id)
        if webhook is None or not webhook.active or (webhook.retry_at is not None and webhook.retry_at > now):
            return 0
        round_ = Round(webhook, transport, targets, lease)
        held = await round_.held_chats(now)  # first what waits behind a refused event
        if held is None:
            return round_.delivered
        cursor = read = webhook.delivered_event_id  # as stored, and how far this round has read
        for row in await Event.filter(id__gt=cursor).order_by("id").limit(batch):
            event = record_of_row(row)
            kind = kind_for(webhook, event)
            if kind is not None:
                if not await _advance(webhook, cursor, read):  # the events passed over before it
                    return round_.delivered  # replayed meanwhile: the next round starts from the new cursor
                cursor = read
                if event.chat_id in held:  # behind a refused event of its chat: it waits its turn
                    await _wait(webhook, event)
                else:
                    outcome = await round_.send(event, kind)
                    if outcome == STOPPED:
                        return round_.delivered
                    if outcome == REFUSED:
                        held.add(cast(int, event.chat_id))
            read = event.id
            if kind is not None:
                if not await _advance(webhook, cursor, read):
                    return round_.delivered
                cursor = read
        await _advance(webhook, cursor, read)
    finally:
        if round_ is not None and round_.delivered and not round_.last_failed:
            await _still_failing(webhook_id)
        await lease.release()
    return round_.delivered if round_ is not None else 0


async def _post(webhook: Webhook, destination: Destination, event: EventRecord, body: bytes,
                transport: ConnectorTransport) -> int:
    """POST one event to the checked address; returns the receiver's 2xx status, raises for anything else."""
    timestamp = str(int(queue.now().timestamp()))
    answer = await transport.post(destination.url, content=body, extensions=destination.extensions, headers={
        **destination.headers, "content-type": "application/json", TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(webhook.secret, timestamp, body), EVENT_ID_HEADER: str(event.id),
    })
    return answer.status


async def _attempt_row(webhook: Webhook, event: EventRecord) -> None:
    try:
        await WebhookDelivery.bulk_create([WebhookDelivery(webhook_id=webhook.id, event_id=event.id)],
                                          ignore_conflicts=True)
    except IntegrityError:  # the webhook was deleted during the round: nothing to record
        pass


async def _wait(webhook: Webhook, event: EventRecord) -> None:
    """The event waits behind a refused one of its chat (sent once that one is acknowledged)."""
    await _attempt_row(webhook, event)
    await WebhookDelivery.filter(webhook_id=webhook.id, event_id=event.id).update(
        chat_id=event.chat_id, delivered_at=None, next_attempt_at=None)


async def _failed(webhook: Webhook, event: EventRecord, status: int | None, error: str, *, hold: bool) -> None:
    """Record a failed attempt. `hold`: the receiver refused this event: its chat is held (the event
    waits, first of its chat, until its next attempt) and the other chats go on; otherwise (no
    answer, an address refused) the whole webhook waits until the next attempt."""
    await _attempt_row(webhook, event)
    attempts = cast(list[int], await WebhookDelivery.filter(webhook_id=webhook.id, event_id=event.id)
                    .values_list("attempts", flat=True))
    now = queue.now()
    retry_at: datetime = now + backoff((attempts[0] if attempts else 0) + 1)
    held = {"chat_id": event.chat_id, "delivered_at": None} if hold else {}
    await WebhookDelivery.filter(webhook_id=webhook.id, event_id=event.id).update(
        attempts=F("attempts") + 1, last_status=status, last_error=error[:500], next_attempt_at=retry_at, **held)
    if hold:
        await Webhook.filter(id=webhook.id).update(failing=True)
    else:
        await Webhook.filter(id=webhook.id).update(failing=True, retry_at=retry_at)
    log.warning("webhook %s: delivery of event %s failed: %s", webhook.id, event.id, error)


async def _acknowledged(webhook: Webhook, event: EventRecord, status: int) -> None:
    await _attempt_row(webhook, event)
    await WebhookDelivery.filter(webhook_id=webhook.id, event_id=event.id).update(
        attempts=F("attempts") + 1, last_status=status, last_error=None, delivered_at=queue.now(),
        next_attempt_at=None)
    await Webhook.filter(id=webhook.id).update(retry_at=None)


async def _still_failing(webhook_id: int) -> None:
    """After a round that delivered: `failing` stays true only while a chat is held behind a refused event."""
    failing = await _waiting().filter(webhook_id=webhook_id, attempts__gt=0).exists()
    await Webhook.filter(id=webhook_id).update(failing=failing)


async def _advance(webhook: Webhook, cursor: int, event_id: int) -> bool:
    """Move the cursor past `event_id` unless it moved since `cursor` was read (a replay)."""
    if event_id == cursor:
        return True
    return bool(await Webhook.filter(id=webhook.id, delivered_event_id=cursor).update(delivered_event_id=event_id))


class Lease:
    """A loop's lease on a webhook's row: `until`, the expiry it wrote, is its token."""

    def __init__(self, webhook_id: int, until: datetime) -> None:
        self.webhook_id = webhook_id
        self.until = until

    async def renew(self) -> bool:
        """Extend the lease by LEASE from now if this loop still holds it; False when it lost it."""
        until = max(queue.now() + LEASE, self.until)
        if not await Webhook.filter(id=self.webhook_id, delivering_until=self.until).update(delivering_until=until):
            return False
        self.until = until
        return True

    async def release(self) -> None:
        await Webhook.filter(id=self.webhook_id, delivering_until=self.until).update(delivering_until=None)


