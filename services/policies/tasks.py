"""Who may see tasks, and who may get one made from a message.

- A task is seen by its responsible and its author; supervisors and admins fetch any by id
  (`readable`), while "my tasks" lists only the caller's own (`mine`).
- A task carries its message's text: from a silent note, only to a responsible who may read the
  note's chat (services/policies/copy_audience.py).
"""
from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from models import Message, Task
from services.identity.viewer import Viewer, require_operator
from services.policies.conditions import EVERYTHING, AnyOf, Condition, Equals, apply
from services.policies.copy_audience import audience_of_copy


def mine(viewer: Viewer) -> Condition:
    """The tasks the caller is responsible for or gave someone."""
    me = require_operator(viewer)
    return AnyOf((Equals("responsible_id", me), Equals("created_by_id", me)))


def readable(viewer: Viewer) -> Condition:
    """The tasks the viewer may fetch: their own; every one for supervisors and admins."""
    require_operator(viewer)
    return EVERYTHING if viewer.is_supervisor else mine(viewer)


def my_tasks(viewer: Viewer) -> QuerySet[Task]:
    return apply(Task.all(), mine(viewer))


def visible(viewer: Viewer) -> QuerySet[Task]:
    return apply(Task.all(), readable(viewer))


def can_read(viewer: Viewer, task: Task | None) -> bool:
    return task is not None and viewer.is_operator and (
        viewer.is_supervisor or viewer.operator_id in (task.responsible_id, task.created_by_id))


async def ensure_may_give(message: Message, responsible_id: int, using: BaseDBAsyncClient | None = None) -> None:
    """A task from this message may go to this responsible (the audience of the message's text)."""
    await audience_of_copy(message).refuse_outsiders([responsible_id], ["input", "responsibleId"], using)


def updatable(viewer: Viewer) -> Condition:
    """The tasks the viewer may change: their author's and their responsible's (the caller's own),
    any for supervisors and admins. Those the viewer may not change are the ones they may not see:
    NOT_FOUND, their existence not disclosed."""
    return readable(viewer)


def for_update(viewer: Viewer) -> QuerySet[Task]:
    return apply(Task.all(), updatable(viewer))


async def ensure_may_hand_over(task: Task, responsible_id: int, using: BaseDBAsyncClient | None = None) -> None:
    """The task may go to this new responsible: a task made from a message carries its text, so the
    audience of that message's text (its chat's readers, for a silent note) applies as at creation."""
    if task.source_message_id is None:
        return
    message = await Message.get_or_none(id=task.source_message_id, using_db=using)
    if message is not None:
        await ensure_may_give(message, responsible_id, using)
