from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import MessageAuthorKind

if TYPE_CHECKING:
    from models.chat import Chat
    from models.message import Message
    from models.operator import Operator


class MessageReference(Model):
    """What a message replies to or quotes. A quote keeps a copy of the quoted author and text,
    so it reads the same after the original is edited or deleted."""

    id = fields.IntField(primary_key=True)
    message: fields.OneToOneRelation["Message"] = fields.OneToOneField("models.Message", related_name="reference", on_delete=fields.CASCADE)
    message_id: int
    reply_to: fields.ForeignKeyNullableRelation["Message"] = fields.ForeignKeyField("models.Message", related_name="replies", null=True, on_delete=fields.SET_NULL)
    reply_to_id: int | None
    quoted_message: fields.ForeignKeyNullableRelation["Message"] = fields.ForeignKeyField("models.Message", related_name="quotes", null=True,
                                                                                          on_delete=fields.SET_NULL)
    quoted_message_id: int | None
    quoted_chat: fields.ForeignKeyNullableRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="quoted_in", null=True, on_delete=fields.SET_NULL)
    quoted_chat_id: int | None
    quoted_author_kind = fields.CharEnumField(MessageAuthorKind, max_length=16, null=True)
    quoted_author: fields.ForeignKeyNullableRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="quoted_in", null=True,
                                                                                          on_delete=fields.SET_NULL)
    quoted_author_id: int | None
    quoted_text = fields.TextField(null=True)
    quoted_silent = fields.BooleanField(default=False)
    quoted_created_at = fields.DatetimeField(null=True)

    class Meta:
        table = "message_reference"


class MessageMention(Model):
    """An operator mentioned in a message (a participant or a queue colleague of its chat)."""

    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation["Message"] = fields.ForeignKeyField("models.Message", related_name="mentions", on_delete=fields.CASCADE)
    message_id: int
    operator: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="mentioned_in", on_delete=fields.CASCADE)
    operator_id: int

    class Meta:
        table = "message_mention"
        unique_together = (("message", "operator"),)
