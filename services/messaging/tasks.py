"""Tasks made from messages: a to-do for an operator that links back to its message and chat.

Who sees a task and who may get one: services/policies/tasks.py."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from models import Operator, Task, TaskStatus
from services.events.events import unit_of_work
from services.messaging.messaging import get_visible_message
from services.policies.copy_audience import audience_of_copy
from services.policies import operators as operator_policy, tasks as policy
from services.common.errors import InvalidInput, NotFound
from services.identity.viewer import Viewer, require_operator
from services.common.text_input import text_input, LONG_TEXT_LENGTH

MAX_TITLE = 255


@text_input(description=LONG_TEXT_LENGTH)
async def create_task_from_message(viewer: Viewer, *, message_id: int, title: str | None = None,
                                   description: str | None = None, responsible_id: int | None = None,
                                   deadline: datetime | None = None) -> Task:
    """Title defaults to the start of the message, the responsible to the caller.

    The task carries the message's text: from a silent note, only to someone who may read its chat.
    """
    me = require_operator(viewer)
    message, chat = await get_visible_message(viewer, message_id)
    if title is None:
        title = " ".join(message.text.split())[:80] or f"Message in {chat.title}"
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(f"The title must be 1 to {MAX_TITLE} characters.", field=["input", "title"])
    responsible_id = responsible_id if responsible_id is not None else me
    if responsible_id not in await operator_policy.existing_ids([responsible_id]):
        raise NotFound("No such operator.", field=["input", "responsibleId"])
    await policy.ensure_may_give(message, responsible_id)
    return await Task.create(title=title, description=(description or "").strip(), responsible_id=responsible_id,
                             created_by_id=me, deadline=deadline, source_message_id=message.id, chat_id=chat.id)


async def my_tasks(viewer: Viewer) -> list[Task]:
    """Tasks I am responsible for or gave someone, newest first."""
    return await policy.my_tasks(viewer).order_by("-id")


async def visible_task(viewer: Viewer, task_id: int) -> Task | None:
    """A task its responsible, its author, a supervisor or an admin may see."""
    return await policy.visible(viewer).filter(id=task_id).first()


@text_input(description=LONG_TEXT_LENGTH)
async def update_task(viewer: Viewer, *, task_id: int, title: str | None = None, description: str | None = None,
                      status: TaskStatus | None = None, responsible_id: int | None = None,
                      deadline: datetime | None = None) -> Task:
    """Change what is given (None: unchanged). Its author, its responsible, supervisors and admins
    (others: NOT_FOUND). A new responsible must exist and, for a task from a silent note, be one
    who may read the note's chat."""
    require_operator(viewer)
    changes: dict[str, Any] = {}
    if title is not None:
        title = title.strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidInput(f"The title must be 1 to {MAX_TITLE} characters.", field=["input", "title"])
        changes["title"] = title
    if description is not None:
        changes["description"] = description.strip()
    if status is not None:
        try:
            changes["status"] = TaskStatus(getattr(status, "value", status))
        except ValueError:
            raise InvalidInput("Not a task status: OPEN or DONE.", field=["input", "status"])
    if deadline is not None:
        changes["deadline"] = deadline
    async with unit_of_work(viewer) as uow:
        task = await policy.for_update(viewer).filter(id=task_id).using_db(uow.tx).select_for_update().first()
        if task is None:
            raise NotFound("No such task.", field=["input", "taskId"])
        if responsible_id is not None and responsible_id != task.responsible_id:
            if responsible_id not in await operator_policy.existing_ids([responsible_id], uow.tx):
                raise NotFound("No such operator.", field=["input", "responsibleId"])
            await policy.ensure_may_hand_over(task, responsible_id, uow.tx)
            changes["responsible_id"] = responsible_id
        if changes:
            await policy.for_update(viewer).filter(id=task.id).using_db(uow.tx).update(**changes)
            for name, value in changes.items():
                setattr(task, name, value)
    return task
