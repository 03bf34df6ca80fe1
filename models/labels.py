from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.chat import Chat
    from models.client import Client


class Label(Model):
    """A tag an admin defines (billing, vip...) that operators put on chats to sort and filter them."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    #: #RRGGBB
    color = fields.CharField(max_length=7)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "label"


class ChatLabel(Model):
    """A label on a chat (a chat has each label at most once)."""

    id = fields.IntField(primary_key=True)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="chat_labels", on_delete=fields.CASCADE)
    chat_id: int
    label: fields.ForeignKeyRelation["Label"] = fields.ForeignKeyField("models.Label", related_name="chat_labels", on_delete=fields.CASCADE)
    label_id: int

    class Meta:
        table = "chat_label"
        unique_together = (("chat", "label"),)
        #: the conversations filter looks chats up by label
        indexes = (("label_id", "chat_id"),)


class ClientAttribute(Model):
    """A key and value on a client (plan = gold), set by the operators who write to them."""

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation["Client"] = fields.ForeignKeyField("models.Client", related_name="attributes", on_delete=fields.CASCADE)
    client_id: int
    key = fields.CharField(max_length=64)
    value = fields.CharField(max_length=1000)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "client_attribute"
        unique_together = (("client", "key"),)
