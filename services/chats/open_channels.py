"""Open channels (queues): configuration by admins, visibility for operators (the rules:
services/policies/open_channels.py). Working hours: services/chats/working_hours.py; languages:
services/chats/system_texts.py; the identity secret: services/chats/visitor_identity.py."""
from __future__ import annotations

from typing import Any

from tortoise.expressions import Subquery

from models import Chat, ChatOffer, ChatStatus, ContactFields, OpenChannel, QueueDistribution, QueueMember, Timer
from services.chats import no_answer, queue, sla, sla_policies, working_hours as hours_of
from services.chats.system_texts import DEFAULT_LANGUAGE, normalize_language
from services.chats.visitor_identity import new_identity_secret
from services.chats.working_hours import WorkingHours
from services.common.errors import InvalidInput, NotFound
from services.events import timers
from services.events.events import UnitOfWork, unit_of_work
from services.identity.viewer import Viewer
from services.policies import open_channels as policy
from services.policies import operators as operator_policy
from services.common.text_input import text_input, LONG_TEXT_LENGTH, NAME_LENGTH

_UNSET: Any = object()


def _validate(name: Any, answer_timeout_seconds: Any, auto_close_after_seconds: Any, max_chats: Any) -> None:
    if name is not _UNSET and not (name or "").strip():
        raise InvalidInput("The name cannot be empty.", field=["input", "name"])
    if answer_timeout_seconds is not _UNSET and answer_timeout_seconds is not None and answer_timeout_seconds < 1:
        raise InvalidInput("answerTimeoutSeconds must be at least 1.", field=["input", "answerTimeoutSeconds"])
    if auto_close_after_seconds is not _UNSET and auto_close_after_seconds is not None and auto_close_after_seconds < 1:
        raise InvalidInput("autoCloseAfterSeconds must be at least 1.", field=["input", "autoCloseAfterSeconds"])
    if max_chats is not _UNSET and max_chats is not None and max_chats < 1:
        raise InvalidInput("maxChatsPerOperator must be at least 1.", field=["input", "maxChatsPerOperator"])


async def _set_members(tx: Any, channel: OpenChannel, operator_ids: list[int]) -> None:
    if len(set(operator_ids)) != len(operator_ids):
        raise InvalidInput("An operator is listed twice.", field=["input", "operatorIds"])
    if set(operator_ids) - await operator_policy.existing_ids(operator_ids, tx):
        raise NotFound("No such operator.", field=["input", "operatorIds"])
    await QueueMember.filter(open_channel_id=channel.id).using_db(tx).delete()
    for position, operator_id in enumerate(operator_ids):
        await QueueMember.create(using_db=tx, open_channel_id=channel.id, operator_id=operator_id, position=position)


def _time_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Working hours in their stored form, the language normalized, an empty after-hours text as none."""
    if "working_hours" in changes:
        changes["working_hours"] = hours_of.to_stored(changes["working_hours"])
    if "language" in changes:
        if changes["language"] is None:
            raise InvalidInput("language cannot be null.", field=["input", "language"])
        changes["language"] = normalize_language(changes["language"], ["input", "language"])
    if "after_hours_message" in changes:
        changes["after_hours_message"] = (changes["after_hours_message"] or "").strip() or None
    return changes


@text_input(name=NAME_LENGTH, welcome_message=LONG_TEXT_LENGTH, after_hours_message=LONG_TEXT_LENGTH)
async def create_open_channel(
    viewer: Viewer, *, name: str, distribution: QueueDistribution = QueueDistribution.EVENLY,
    answer_timeout_seconds: int = 60, auto_close_after_seconds: int = 86400, rating_enabled: bool = True,
    welcome_message: str | None = None, max_chats_per_operator: int | None = None,
    operator_ids: list[int] | None = None, working_hours: WorkingHours | None = None,
    after_hours_message: str | None = None, language: str = DEFAULT_LANGUAGE,
    contact_fields: ContactFields = ContactFields.OPTIONAL,
) -> OpenChannel:
    policy.ensure_may_configure(viewer)
    _validate(name, answer_timeout_seconds, auto_close_after_seconds, max_chats_per_operator)
    time_settings = _time_settings({"working_hours": working_hours, "after_hours_message": after_hours_message,
                                    "language": language})
    async with unit_of_work(viewer) as uow:
        channel = await OpenChannel.create(
            using_db=uow.tx, name=name.strip(), distribution=distribution,
            answer_timeout_seconds=answer_timeout_seconds, auto_close_after_seconds=auto_close_after_seconds,
            rating_enabled=rating_enabled, welcome_message=welcome_message,
            max_chats_per_operator=max_chats_per_operator, contact_fields=contact_fields, **time_settings,
        )
        await _set_members(uow.tx, channel, operator_ids or [])
    return channel


@text_input(name=NAME_LENGTH, welcome_message=LONG_TEXT_LENGTH, after_hours_message=LONG_TEXT_LENGTH,
            no_answer_message=LONG_TEXT_LENGTH)
async def update_open_channel(viewer: Viewer, *, open_channel_id: int, operator_ids: list[int] | None = None,
                              **changes: Any) -> OpenChannel:
    """Change the given settings; `operator_ids` replaces the queue members, in that order.

    New working hours (`working_hours`: a WorkingHours, None: always open) apply to the chats
    waiting in the queue at once: each is looked at again by the scheduler's next tick (offered if
    the channel is open now, else it waits for the new next opening). New hours or a new
    no-answer timeout move the no-answer timers of the chats waiting for the rule
    (services/chats/no_answer.py `settings_changed`); the rule itself is read when it fires. New
    hours also carry the working time left on the chats' service-level clocks into them
    (services/chats/sla.py `hours_changed`)."""
    policy.ensure_may_configure(viewer)
    changes = {k: v for k, v in changes.items() if v is not _UNSET}
    _validate(changes.get("name", _UNSET), changes.get("answer_timeout_seconds", _UNSET),
              changes.get("auto_close_after_seconds", _UNSET), changes.get("max_chats_per_operator", _UNSET))
    for required in ("name", "distribution", "answer_timeout_seconds", "auto_close_after_seconds", "rating_enabled",
                     "contact_fields"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be null.", field=["input", required])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    changes = no_answer.settings_changes(_time_settings(changes))
    async with unit_of_work(viewer) as uow:
        # Tortoise's QuerySetSingle protocol lacks using_db/select_for_update (the object is a QuerySet that has them)
        channel = await OpenChannel.get_or_none(id=open_channel_id).using_db(uow.tx).select_for_update()  # type: ignore[attr-defined]
        if channel is None:
            raise NotFound("No such open channel.", field=["input", "openChannelId"])
        await no_answer.check_settings(uow, channel, changes)  # the no-answer rule (services/chats/no_answer.py)
        await sla_policies.check_channel_setting(uow, viewer, channel, changes)  # the SLA policy exists
        if changes:
            await OpenChannel.filter(id=channel.id).using_db(uow.tx).update(**changes)
        if operator_ids is not None:
            await _set_members(uow.tx, channel, operator_ids)
        if "working_hours" in changes:
            await _look_again_at_waiting_chats(uow, channel.id)
        if "working_hours" in changes or "no_answer_timeout_seconds" in changes:
            now_set = await OpenChannel.get(id=channel.id, using_db=uow.tx)
            # the chats waiting for the no-answer rule: their timers from the new settings
            await no_answer.settings_changed(uow, now_set)
            # the service-level clocks running in the channel: the working time left, in the new hours
            await sla.hours_changed(uow, channel.working_hours, now_set)
    return await OpenChannel.get(id=open_channel_id)


async def _look_again_at_waiting_chats(uow: UnitOfWork, channel_id: int) -> None:
    """The channel's hours changed: every chat waiting in its queue unoffered gets its opening timer
    due now (durable: the scheduler fires it even if this process stops)."""
    waiting = await (Chat.filter(open_channel_id=channel_id, status=ChatStatus.QUEUED)
                     .exclude(id__in=Subquery(ChatOffer.all().values("chat_id")))
                     .using_db(uow.tx).values_list("id", flat=True))
    if waiting:
        at = queue.now()
        await Timer.bulk_create([Timer(kind=timers.CHANNEL_OPENS, chat_id=chat_id, due_at=at) for chat_id in waiting],
                                on_conflict=["kind", "chat_id"], update_fields=["due_at"], using_db=uow.tx)


async def rotate_identity_secret(viewer: Viewer, *, open_channel_id: int) -> str:
    """A new identity secret for the channel's visitor identity hashes, returned once (admins): hashes
    made with the previous one stop verifying."""
    policy.ensure_may_configure(viewer)
    secret = new_identity_secret()
    async with unit_of_work() as uow:
        if not await OpenChannel.filter(id=open_channel_id).using_db(uow.tx).update(identity_secret=secret):
            raise NotFound("No such open channel.", field=["input", "openChannelId"])
    return secret


def working_hours_of(stored: str | None) -> WorkingHours | None:
    """A channel's working hours from its stored column (None: always open)."""
    return hours_of.from_stored(stored)


def is_open_now(stored: str | None) -> bool:
    """Whether a channel with these stored working hours is open now (the services' clock)."""
    return hours_of.is_open(hours_of.from_stored(stored), queue.now())


async def list_open_channels(viewer: Viewer) -> list[OpenChannel]:
    """Supervisors and admins: every channel; an operator: the channels whose queue they are in."""
    return await policy.listed_channels(viewer).order_by("id")


async def get_open_channel(viewer: Viewer, open_channel_id: int) -> OpenChannel:
    channel = await policy.listed_channels(viewer).filter(id=open_channel_id).first()
    if channel is None:
        raise NotFound("No such open channel.", field=["input", "openChannelId"])
    return channel


async def channels_by_id(viewer: Viewer, ids: list[int]) -> dict[int, OpenChannel]:
    """The channels named by what the viewer reads (a chat's channel, a canned response's...)."""
    return {c.id: c for c in await policy.named_channels(viewer, ids)}


async def members_of_channels(viewer: Viewer, channel_ids: list[int]) -> list[tuple[int, int]]:
    """(channel id, operator id) of the queue members of these channels, in queue order."""
    return await policy.members_of(viewer, channel_ids).order_by("position", "id") \
        .values_list("open_channel_id", "operator_id")


async def channel_ids_of_operators(viewer: Viewer, operator_ids: list[int]) -> list[tuple[int, int]]:
    """(operator id, channel id) of the queues these operators are in."""
    return await policy.memberships_of(viewer, operator_ids).order_by("open_channel_id") \
        .values_list("operator_id", "open_channel_id")
