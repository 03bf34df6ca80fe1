from enum import Enum

from tortoise import fields
from tortoise.models import Model


class TaskStatus(str, Enum):
    OPEN = "OPEN"
    DONE = "DONE"


class Task(Model):
    """A to-do for an operator, usually made from a message (it links back to it and its chat)."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    description = fields.TextField(default="")
    status = fields.CharEnumField(TaskStatus, max_length=16, default=TaskStatus.OPEN)
    responsible = fields.ForeignKeyField("models.Operator", related_name="tasks", on_delete=fields.CASCADE)
    created_by = fields.ForeignKeyField("models.Operator", related_name="created_tasks", on_delete=fields.CASCADE)
    deadline = fields.DatetimeField(null=True)
    source_message = fields.ForeignKeyField("models.Message", related_name="tasks", null=True,
                                            on_delete=fields.SET_NULL)
    chat = fields.ForeignKeyField("models.Chat", related_name="tasks", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "task"
        indexes = (("responsible_id", "id"),)
