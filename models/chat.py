from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import ChatKind, ChatPriority, ChatStatus

if TYPE_CHECKING:
    from models.client import Client
    from models.open_channel import OpenChannel
    from models.operator import Operator


class Chat(Model):
    """A conversation. Its status moves only through services/chats/chat_states.py."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ChatKind, max_length=16, default=ChatKind.CUSTOMER)
    title = fields.CharField(max_length=255)
    status = fields.CharEnumField(ChatStatus, max_length=16, default=ChatStatus.QUEUED, db_index=True)
    open_channel: fields.ForeignKeyNullableRelation["OpenChannel"] = fields.ForeignKeyField("models.OpenChannel", related_name="chats", null=True, on_delete=fields.SET_NULL)
    open_channel_id: int | None
    client: fields.ForeignKeyNullableRelation["Client"] = fields.ForeignKeyField("models.Client", related_name="chats", null=True, on_delete=fields.SET_NULL)
    client_id: int | None
    #: the operator responsible for the chat (set while ACTIVE, kept after it is closed)
    operator: fields.ForeignKeyNullableRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="responsible_chats", null=True, on_delete=fields.SET_NULL)
    operator_id: int | None
    pinned = fields.BooleanField(default=False)
    priority = fields.CharEnumField(ChatPriority, max_length=16, default=ChatPriority.NORMAL, db_default="NORMAL")
    parent_chat: fields.ForeignKeyNullableRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="child_chats", null=True, on_delete=fields.SET_NULL)
    parent_chat_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    answered_at = fields.DatetimeField(null=True)
    first_response_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    auto_close_at = fields.DatetimeField(null=True)
    last_activity_at = fields.DatetimeField(null=True)
    #: when the client was told the channel is closed (at most once per chat)
    after_hours_message_at = fields.DatetimeField(null=True)
    #: when its channel no-answer rule last fired for it (null: never)
    no_answer_at = fields.DatetimeField(null=True)
    #: moved by a no-answer rule once: no rule moves it again (no loops between channels)
    no_answer_moved = fields.BooleanField(default=False, db_default=False)
    #: since when it waits, never answered, in its channel queue for the no-answer rule (null: not waiting for it)
    no_answer_since = fields.DatetimeField(null=True)

    class Meta:
        table = "chat"
        indexes = (("open_channel_id", "status"), ("operator_id", "status"), ("created_at", "id"))


class ChatOffer(Model):
    """A queued chat is currently offered to this operator."""

    id = fields.IntField(primary_key=True)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="offers", on_delete=fields.CASCADE)
    chat_id: int
    operator: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="offers", on_delete=fields.CASCADE)
    operator_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chat_offer"
        unique_together = (("chat", "operator"),)
        #: "offered to me" looks rows up by operator
        indexes = (("operator_id", "chat_id"),)


class ChatSkip(Model):
    """This operator skipped this chat while it was queued: it is not offered to them again there."""

    id = fields.IntField(primary_key=True)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="skips", on_delete=fields.CASCADE)
    chat_id: int
    operator: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="skips", on_delete=fields.CASCADE)
    operator_id: int

    class Meta:
        table = "chat_skip"
        unique_together = (("chat", "operator"),)


class ChatParticipant(Model):
    """An operator on the chat's operator side: the responsible one or an added colleague."""

    id = fields.IntField(primary_key=True)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="participants", on_delete=fields.CASCADE)
    chat_id: int
    operator: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="participations", on_delete=fields.CASCADE)
    operator_id: int
    added_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chat_participant"
        unique_together = (("chat", "operator"),)
        #: "my chats" looks rows up by operator (a sequential scan without it, measured in bench/)
        indexes = (("operator_id", "chat_id"),)


class ReadMarker(Model):
    """The last message of a chat an operator has read. Everything after it is unread for them."""

    id = fields.IntField(primary_key=True)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="read_markers", on_delete=fields.CASCADE)
    chat_id: int
    operator: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="read_markers", on_delete=fields.CASCADE)
    operator_id: int
    last_read_message_id = fields.IntField(default=0)

    class Meta:
        table = "read_marker"
        unique_together = (("chat", "operator"),)
