"""Service levels of a chat: the clocks of its channel's SLA policy (services/chats/sla_policies.py).

A chat started in a channel with a policy gets a `chat_sla` row: the policy, and per target the due
time of its running clock, a pending warning time and when it was missed. Times are counted in
working time of the chat's channel (services/chats/working_hours.py `after_working_seconds`).

- FIRST_RESPONSE runs from the chat's start until an operator answers it.
- NEXT_RESPONSE runs while a client message waits for an operator's reply in an answered chat: from
  the client's message (or from the answer, for what the client wrote before it) until an operator
  writes a visible message (a silent note is no reply). A new client message starts it again.
- RESOLUTION runs from the chat's start until it is closed.
- Closing (finish, spam, auto-close, the client, a no-answer CLOSE) stops every clock
  (services/chats/chat_states.py calls `stop_clocks`).
- A transfer keeps the clocks running: the working time left on each is carried into the new
  channel's working hours (the same hours: the same due times). The chat keeps its policy.
- New working hours of a channel (`hours_changed`) carry the working time left on the running
  clocks of its chats into the new hours in the same way.

Each target has one durable timer (services/events/timers.py, kind `SLA_<TARGET>`) at its next
moment: the warning, then the due time. The scheduler fires it (services/automation/timeouts.py
`sla_due`), and `fire` records, in the chat's locked transaction, SLA_WARNING (a queue event,
`warnBeforeSeconds` ahead) and SLA_BREACHED (queue and chat events): each claim is a conditional
UPDATE (`WHERE <target>_due_at <= now AND <target>_breached_at IS NULL`), so a target is missed
exactly once per chat, whatever the number of scheduler loops. A met or stopped clock leaves its
timer to fire for nothing (the row says nothing is due), so the busiest writes need not touch it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from tortoise.expressions import Subquery
from tortoise.functions import Count

from models import Chat, ChatSla, ChatStatus, OpenChannel, SlaPolicy, SlaTarget
from services.chats import queue, working_hours
from services.chats.audience import audience
from services.common import raw_sql
from services.events import timers
from services.events.events import UnitOfWork
from services.events.records import ChatEventKind, EventKind, QueueEventKind
from services.identity.viewer import Viewer
from services.policies import sla_policies as sla_policy

#: target -> the prefix of its columns (policy: `<prefix>_seconds`; chat_sla: `<prefix>_due_at`...)
PREFIX = {SlaTarget.FIRST_RESPONSE: "first_response", SlaTarget.NEXT_RESPONSE: "next_response",
          SlaTarget.RESOLUTION: "resolution"}
#: target -> the kind of its timer
TIMER_KINDS = {target: f"SLA_{target.value}" for target in SlaTarget}
TARGET_OF_TIMER = {kind: target for target, kind in TIMER_KINDS.items()}
UNFINISHED = (ChatStatus.QUEUED, ChatStatus.ACTIVE)


def _clock(hours: working_hours.WorkingHours | None, policy: SlaPolicy, target: SlaTarget,
           start: datetime) -> dict[str, Any]:
    """The columns of a clock of `target` started at `start` (no target, or a channel that never
    opens: no clock)."""
    p = PREFIX[target]
    seconds = getattr(policy, f"{p}_seconds")
    due = working_hours.after_working_seconds(hours, start, seconds) if seconds is not None else None
    warn = None
    if due is not None and policy.warn_before_seconds is not None:
        warn = working_hours.after_working_seconds(hours, start, max(seconds - policy.warn_before_seconds, 0))
    return {f"{p}_due_at": due, f"{p}_warn_at": warn}


def _next_moment(values: dict[str, Any], target: SlaTarget) -> datetime | None:
    """When the target's timer is due: its pending warning, else its due time; None once missed or stopped."""
    p = PREFIX[target]
    if values.get(f"{p}_breached_at") is not None or values.get(f"{p}_due_at") is None:
        return None
    return values.get(f"{p}_warn_at") or values[f"{p}_due_at"]


async def _set_timers(uow: UnitOfWork, chat_id: int, values: dict[str, Any], targets: list[SlaTarget]) -> None:
    """Each target's timer at its next moment (none: left to fire for nothing, or never made)."""
    for target in targets:
        moment = _next_moment(values, target)
        if moment is not None:
            await timers.schedule(uow, TIMER_KINDS[target], chat_id, moment)


#: a chat's clocks: the columns of chat_sla but its keys (tests/automation/test_sla.py checks the list)
CLOCK_COLUMNS = (
    "breached", "client_waiting_since",
    "first_response_due_at", "first_response_warn_at", "first_response_breached_at",
    "next_response_due_at", "next_response_warn_at", "next_response_breached_at",
    "resolution_due_at", "resolution_warn_at", "resolution_breached_at",
)


def clock_values(row: ChatSla) -> dict[str, Any]:
    return {name: getattr(row, name) for name in CLOCK_COLUMNS}


async def start(uow: UnitOfWork, chat: Chat, channel: OpenChannel) -> None:
    """A new chat of this channel, opened by the client's message: the policy's FIRST_RESPONSE and
    RESOLUTION clocks start now, and the message waits for a reply (a channel without a policy: no
    service levels, no statement)."""
    if channel.sla_policy_id is None:
        return
    policy = await SlaPolicy.get_or_none(id=channel.sla_policy_id, using_db=uow.tx)
    if policy is None:
        return
    hours, at = working_hours.from_stored(channel.working_hours), queue.now()
    values = {**_clock(hours, policy, SlaTarget.FIRST_RESPONSE, at), **_clock(hours, policy, SlaTarget.RESOLUTION, at)}
    await ChatSla.create(using_db=uow.tx, chat_id=chat.id, policy_id=policy.id, client_waiting_since=at, **values)
    await _set_timers(uow, chat.id, values, [SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION])


async def _row(uow: UnitOfWork, chat_id: int) -> ChatSla | None:
    return await ChatSla.filter(chat_id=chat_id).using_db(uow.tx).select_related("policy").first()


async def client_wrote(uow: UnitOfWork, chat: Chat) -> None:
    """A client message: it waits for a reply. In an answered chat with no reply pending, the
    NEXT_RESPONSE clock starts now (one statement for a chat without service levels)."""
    at = queue.now()
    waiting = await ChatSla.filter(chat_id=chat.id, client_waiting_since__isnull=True).using_db(uow.tx) \
        .update(client_waiting_since=at)
    if waiting and chat.answered_at is not None:
        await _start_next_response(uow, chat, at)


async def _start_next_response(uow: UnitOfWork, chat: Chat, at: datetime,
                               channel: OpenChannel | None = None) -> None:
    row = await _row(uow, chat.id)
    if row is None or row.next_response_due_at is not None:
        return
    channel = channel or await queue.channel_of(uow, chat)
    hours = working_hours.from_stored(channel.working_hours) if channel is not None else None
    values = _clock(hours, row.policy, SlaTarget.NEXT_RESPONSE, at)
    if row.next_response_breached_at is not None:
        values["next_response_warn_at"] = None  # missed once already: shown, never warned or missed again
    await ChatSla.filter(chat_id=chat.id).using_db(uow.tx).update(**values)
    await _set_timers(uow, chat.id, {**clock_values(row), **values}, [SlaTarget.NEXT_RESPONSE])


async def answered(uow: UnitOfWork, chat: Chat, channel: OpenChannel | None) -> None:
    """An operator answered the chat: FIRST_RESPONSE is met; what the client wrote before now waits
    for a reply (NEXT_RESPONSE starts now, unless its clock runs already: a chat answered again after
    a transfer)."""
    row = await _row(uow, chat.id)
    if row is None:
        return
    if row.first_response_due_at is not None:
        await ChatSla.filter(chat_id=chat.id).using_db(uow.tx).update(first_response_due_at=None,
                                                                       first_response_warn_at=None)
    if row.client_waiting_since is not None and row.next_response_due_at is None:
        await _start_next_response(uow, chat, queue.now(), channel)


def replied_sql(chat: str) -> str:
    """The UPDATE that meets NEXT_RESPONSE when an operator writes a visible message in chat `chat`
    (a placeholder), for a statement of its own or a CTE of sendMessage's (services/messaging/messages.py)."""
    return ("UPDATE chat_sla SET client_waiting_since = NULL, next_response_due_at = NULL, "
            f"next_response_warn_at = NULL WHERE chat_id = {chat} AND client_waiting_since IS NOT NULL")


_REPLIED = replied_sql("$1")


async def replied(uow: UnitOfWork, chat_id: int) -> None:
    """An operator wrote a visible message: no client message waits any more (NEXT_RESPONSE met)."""
    await raw_sql.execute(uow.tx, _REPLIED, chat_id)


async def stop_clocks(uow: UnitOfWork, chat_id: int) -> None:
    """The chat is closed: every clock stops (what was missed stays missed)."""
    await ChatSla.filter(chat_id=chat_id).using_db(uow.tx).update(
        client_waiting_since=None, **{f"{p}_{c}": None for p in PREFIX.values() for c in ("due_at", "warn_at")})


async def transferred(uow: UnitOfWork, chat: Chat, from_hours: str | None, to_channel: OpenChannel) -> None:
    """The chat moved from a channel with working hours `from_hours` (stored form) to `to_channel`:
    its clocks keep running. The working time left on each is carried into the new channel's hours
    (the same hours: nothing changes)."""
    if from_hours != to_channel.working_hours:
        await _carry(uow, chat.id, from_hours, to_channel.working_hours)


async def hours_changed(uow: UnitOfWork, from_hours: str | None, channel: OpenChannel) -> None:
    """The channel's working hours changed from `from_hours` (stored form) to its own now: the running
    clocks of its unfinished chats keep the working time left on them, counted in the new hours (as
    for a transfer). The chats are locked in id order first, so a scheduler round firing one of
    their timers finishes before or fires the moved one."""
    if from_hours == channel.working_hours:
        return
    chat_ids = await (Chat.filter(open_channel_id=channel.id, status__in=list(UNFINISHED),
                                  id__in=Subquery(ChatSla.all().values("chat_id")))
                      .using_db(uow.tx).select_for_update().order_by("id").values_list("id", flat=True))
    for chat_id in cast(list[int], chat_ids):
        await _carry(uow, chat_id, from_hours, channel.working_hours)


async def _carry(uow: UnitOfWork, chat_id: int, from_hours: str | None, to_hours: str | None) -> None:
    """The working time left on each running clock of the chat, counted in `from_hours` from now, is
    counted in `to_hours` instead (stored forms): the due and warning times and the timers move."""
    row = await _row(uow, chat_id)
    if row is None:
        return
    old, new, at = working_hours.from_stored(from_hours), working_hours.from_stored(to_hours), queue.now()
    values = clock_values(row)
    changes: dict[str, Any] = {}
    for p in PREFIX.values():
        for column in (f"{p}_due_at", f"{p}_warn_at"):
            moment = values[column]
            if moment is None or moment <= at:
                continue  # stopped, or due already (the timer fires at once)
            left = working_hours.working_seconds_between(old, at, moment)
            changes[column] = working_hours.after_working_seconds(new, at, left)
    if changes:
        await ChatSla.filter(chat_id=chat_id).using_db(uow.tx).update(**changes)
        await _set_timers(uow, chat_id, {**values, **changes}, list(SlaTarget))


async def fire(uow: UnitOfWork, chat: Chat, target: SlaTarget) -> None:
    """The target's timer is due for this (locked) chat: SLA_BREACHED if its due time passed and it
    was not missed yet, else SLA_WARNING if a warning is pending; then the timer moves to the
    target's next moment. Each is a conditional UPDATE: it happens once, whoever fires."""
    at, p = queue.now(), PREFIX[target]
    rows = ChatSla.filter(chat_id=chat.id).using_db(uow.tx)
    detail = {"target": target.value}
    missed = await rows.filter(**{f"{p}_due_at__lte": at, f"{p}_breached_at__isnull": True}).update(
        breached=True, **{f"{p}_breached_at": at, f"{p}_warn_at": None})
    if missed:
        uow.record(EventKind.SLA_BREACHED, chat=chat, queue_kind=QueueEventKind.SLA_BREACHED,
                   chat_kind=ChatEventKind.SLA_BREACHED, operator_ids=await audience(uow, chat),
                   visitor_visible=False, detail=detail)
    elif await rows.filter(**{f"{p}_warn_at__lte": at, f"{p}_due_at__isnull": False,
                              f"{p}_breached_at__isnull": True}).update(**{f"{p}_warn_at": None}):
        uow.record(EventKind.SLA_WARNING, chat=chat, queue_kind=QueueEventKind.SLA_WARNING,
                   operator_ids=await audience(uow, chat), visitor_visible=False, detail=detail)
    row = await ChatSla.get_or_none(chat_id=chat.id, using_db=uow.tx)
    if row is not None:
        await _set_timers(uow, chat.id, clock_values(row), [target])


# ----------------------------------------------------------------------------- reads


def breached_targets(row: ChatSla) -> list[SlaTarget]:
    """The targets the chat missed, in the order of SlaTarget."""
    return [target for target in SlaTarget if getattr(row, f"{PREFIX[target]}_breached_at") is not None]


async def breached_unfinished_by_channel(channel_ids: list[int]) -> dict[int, int]:
    """Per open channel: its chats not finished (QUEUED or ACTIVE) that missed at least one target
    (a channel with none: 0). A figure per channel, no chat is shown: the caller decides who may
    see the channel's figures (the wallboard)."""
    found = {channel_id: 0 for channel_id in channel_ids}
    if not channel_ids:
        return found
    rows = await (ChatSla.filter(breached=True, chat__status__in=list(UNFINISHED),
                                 chat__open_channel_id__in=list(set(channel_ids)))
                  .annotate(n=Count("chat_id")).group_by("chat__open_channel_id")
                  .values_list("chat__open_channel_id", "n"))
    for channel_id, n in rows:
        found[channel_id] = n
    return found


async def slas_of_chats(viewer: Viewer, chat_ids: list[int]) -> dict[int, ChatSla]:
    """Per chat id, its service levels with their policy, as far as the viewer reads the chat on the
    operator side (services/policies/sla_policies.py: a visitor none)."""
    return {row.chat_id: row for row in
            await sla_policy.slas_of_visible_chats(viewer, chat_ids).select_related("policy")}
