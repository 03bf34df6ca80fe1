"""Labels: admins define them, the chat's operators put them on chats (rules:
services/policies/labels.py). Setting a chat's labels is one transaction with a LABELS_CHANGED
chat event; the conversations list filters by them (services/contact_center/conversation_filters.py)."""
from __future__ import annotations

import re
from collections import defaultdict
from typing import cast

from tortoise.exceptions import IntegrityError

from models import Chat, ChatLabel, Label
from services.chats.audience import audience
from services.chats.chat_states import Action, ensure_allowed, transition
from services.common.errors import InvalidInput, NotFound
from services.common.text_input import text_input
from services.events.events import unit_of_work
from services.identity.viewer import Viewer
from services.policies import labels as policy
from services.policies.chats import operator_chat

MAX_NAME_LENGTH = 64
#: a chat carries at most this many labels
MAX_LABELS_PER_CHAT = 20
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


async def list_labels(viewer: Viewer) -> list[Label]:
    """Every label, by name."""
    return await policy.visible_labels(viewer).order_by("name", "id")


@text_input()
async def create_label(viewer: Viewer, *, name: str, color: str) -> Label:
    """Admins: a new label. Its name is unique (in any case)."""
    policy.ensure_may_define(viewer)
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The name must be 1 to {MAX_NAME_LENGTH} characters.", field=["input", "name"])
    if not _COLOR.fullmatch(color or ""):
        raise InvalidInput("The color must be #RRGGBB, e.g. #1E90FF.", field=["input", "color"])
    async with unit_of_work(viewer) as uow:
        names = await policy.visible_labels(viewer).using_db(uow.tx).values_list("name", flat=True)
        if name.casefold() in {cast(str, n).casefold() for n in names}:
            raise InvalidInput("A label with this name exists.", field=["input", "name"])
        try:
            return await Label.create(using_db=uow.tx, name=name, color=color.upper())
        except IntegrityError:  # created meanwhile
            raise InvalidInput("A label with this name exists.", field=["input", "name"])


async def existing_label_ids(viewer: Viewer, label_ids: list[int]) -> list[int]:
    """The labels named, in the order given and each once; NOT_FOUND (on labelIds) if one does not exist."""
    wanted = list(dict.fromkeys(label_ids))
    if len(wanted) > MAX_LABELS_PER_CHAT:
        raise InvalidInput(f"A chat carries at most {MAX_LABELS_PER_CHAT} labels.", field=["input", "labelIds"])
    found = set(await policy.visible_labels(viewer).filter(id__in=wanted).values_list("id", flat=True))
    if set(wanted) - found:
        raise NotFound("No such label.", field=["input", "labelIds"])
    return wanted


async def set_chat_labels(viewer: Viewer, *, chat_id: int, label_ids: list[int]) -> Chat:
    """The chat's labels become exactly these (an empty list removes them all). Unchanged: no event."""
    wanted = set(await existing_label_ids(viewer, label_ids))
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        policy.ensure_may_label(roles)
        ensure_allowed(Action.LABEL, chat)
        current = set(await ChatLabel.filter(chat_id=chat.id).using_db(uow.tx).values_list("label_id", flat=True))
        if current == wanted:
            return chat
        await transition(uow, chat, Action.LABEL)  # the chat row is locked: concurrent changes queue up
        if current - wanted:
            await ChatLabel.filter(chat_id=chat.id, label_id__in=list(current - wanted)).using_db(uow.tx).delete()
        if wanted - current:
            await ChatLabel.bulk_create([ChatLabel(chat_id=chat.id, label_id=i) for i in sorted(wanted - current)],
                                        ignore_conflicts=True, using_db=uow.tx)
        uow.record("LABELS_CHANGED", chat=chat, chat_kind="LABELS_CHANGED", operator_ids=await audience(uow, chat))
    return chat


async def labels_of_chats(viewer: Viewer, chat_ids: list[int]) -> dict[int, list[Label]]:
    """Per chat id, its labels by name (the chats the viewer may see; others: none)."""
    rows = await policy.labels_of_visible_chats(viewer, chat_ids).values_list("chat_id", "label_id")
    labels = {label.id: label for label in await Label.filter(id__in={label_id for _, label_id in rows})}
    found: dict[int, list[Label]] = defaultdict(list)
    for chat_id, label_id in rows:
        found[chat_id].append(labels[label_id])
    return {chat_id: sorted(found[chat_id], key=lambda label: (label.name, label.id)) for chat_id in chat_ids}


async def visible_label(viewer: Viewer, label_id: int) -> Label | None:
    return await policy.visible_labels(viewer).filter(id=label_id).first()
