from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.chat import Chat
    from models.client import Client
    from models.message import Message
    from models.operator import Operator


class Attachment(Model):
    """An uploaded file. It belongs to a chat from the upload on, and to a message once sent with it.

    The bytes live in the file storage under `storage_key`. `content_type` was sniffed from the
    bytes, never taken from the client.
    """

    id = fields.IntField(primary_key=True)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="attachments", on_delete=fields.CASCADE)
    chat_id: int
    message: fields.ForeignKeyNullableRelation["Message"] = fields.ForeignKeyField("models.Message", related_name="attachments", null=True,
                                                                                   on_delete=fields.SET_NULL)
    message_id: int | None
    uploaded_by: fields.ForeignKeyNullableRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="uploads", null=True,
                                                                                        on_delete=fields.SET_NULL)
    uploaded_by_id: int | None
    #: set when a visitor uploaded it
    uploaded_by_client: fields.ForeignKeyNullableRelation["Client"] = fields.ForeignKeyField("models.Client", related_name="uploads", null=True,
                                                                                             on_delete=fields.SET_NULL)
    uploaded_by_client_id: int | None
    name = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=127)
    size = fields.IntField()
    storage_key = fields.CharField(max_length=255, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attachment"
