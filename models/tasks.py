from enum import Enum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.chat import Chat
    from models.message import Message
    from models.operator import Operator


class TaskStatus(str, Enum):
    OPEN = "OPEN"
    DONE = "DONE"


class Task(Model):
    """A to-do for an operator, usually made from a message (it links back to it and its chat)."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    description = fields.TextField(default="")
    status = fields.CharEnumField(TaskStatus, max_length=16, default=TaskStatus.OPEN)
    responsible: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="tasks", on_delete=fields.CASCADE)
    responsible_id: int
    created_by: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="created_tasks", on_delete=fields.CASCADE)
    created_by_id: int
    deadline = fields.DatetimeField(null=True)
    source_message: fields.ForeignKeyNullableRelation["Message"] = fields.ForeignKeyField("models.Message", related_name="tasks", null=True,
                                                                                          on_delete=fields.SET_NULL)
    source_message_id: int | None
    chat: fields.ForeignKeyNullableRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="tasks", null=True, on_delete=fields.SET_NULL)
    chat_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "task"
        indexes = (("responsible_id", "id"),)
