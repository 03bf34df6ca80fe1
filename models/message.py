from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import MessageAuthorKind

if TYPE_CHECKING:
    from models.chat import Chat
    from models.operator import Operator


class Message(Model):
    """A message in a chat. Silent messages are operator notes: never shown to the client."""

    id = fields.IntField(primary_key=True)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="messages", on_delete=fields.CASCADE)
    chat_id: int
    author_kind = fields.CharEnumField(MessageAuthorKind, max_length=16)
    author: fields.ForeignKeyNullableRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="messages", null=True, on_delete=fields.SET_NULL)
    author_id: int | None
    text = fields.TextField()
    silent = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    deleted = fields.BooleanField(default=False)

    class Meta:
        table = "message"
        indexes = (("chat_id", "id"),)
