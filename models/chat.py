from tortoise import fields
from tortoise.models import Model

from models.enums import ChatKind, ChatStatus


class Chat(Model):
    """A conversation. Its status moves only through services/chats/chat_states.py."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ChatKind, max_length=16, default=ChatKind.CUSTOMER)
    title = fields.CharField(max_length=255)
    status = fields.CharEnumField(ChatStatus, max_length=16, default=ChatStatus.QUEUED, db_index=True)
    open_channel = fields.ForeignKeyField("models.OpenChannel", related_name="chats", null=True, on_delete=fields.SET_NULL)
    client = fields.ForeignKeyField("models.Client", related_name="chats", null=True, on_delete=fields.SET_NULL)
    #: the operator responsible for the chat (set while ACTIVE, kept after it is closed)
    operator = fields.ForeignKeyField("models.Operator", related_name="responsible_chats", null=True, on_delete=fields.SET_NULL)
    pinned = fields.BooleanField(default=False)
    parent_chat = fields.ForeignKeyField("models.Chat", related_name="child_chats", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    answered_at = fields.DatetimeField(null=True)
    first_response_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    auto_close_at = fields.DatetimeField(null=True)
    last_activity_at = fields.DatetimeField(null=True)

    class Meta:
        table = "chat"
        indexes = (("open_channel_id", "status"), ("operator_id", "status"), ("created_at", "id"))


class ChatOffer(Model):
    """A queued chat is currently offered to this operator."""

    id = fields.IntField(primary_key=True)
    chat = fields.ForeignKeyField("models.Chat", related_name="offers", on_delete=fields.CASCADE)
    operator = fields.ForeignKeyField("models.Operator", related_name="offers", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chat_offer"
        unique_together = (("chat", "operator"),)
        #: "offered to me" looks rows up by operator
        indexes = (("operator_id", "chat_id"),)


class ChatSkip(Model):
    """This operator skipped this chat while it was queued: it is not offered to them again there."""

    id = fields.IntField(primary_key=True)
    chat = fields.ForeignKeyField("models.Chat", related_name="skips", on_delete=fields.CASCADE)
    operator = fields.ForeignKeyField("models.Operator", related_name="skips", on_delete=fields.CASCADE)

    class Meta:
        table = "chat_skip"
        unique_together = (("chat", "operator"),)


class ChatParticipant(Model):
    """An operator on the chat's operator side: the responsible one or an added colleague."""

    id = fields.IntField(primary_key=True)
    chat = fields.ForeignKeyField("models.Chat", related_name="participants", on_delete=fields.CASCADE)
    operator = fields.ForeignKeyField("models.Operator", related_name="participations", on_delete=fields.CASCADE)
    added_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chat_participant"
        unique_together = (("chat", "operator"),)
        #: "my chats" looks rows up by operator (a sequential scan without it, measured in bench/)
        indexes = (("operator_id", "chat_id"),)


class ReadMarker(Model):
    """The last message of a chat an operator has read. Everything after it is unread for them."""

    id = fields.IntField(primary_key=True)
    chat = fields.ForeignKeyField("models.Chat", related_name="read_markers", on_delete=fields.CASCADE)
    operator = fields.ForeignKeyField("models.Operator", related_name="read_markers", on_delete=fields.CASCADE)
    last_read_message_id = fields.IntField(default=0)

    class Meta:
        table = "read_marker"
        unique_together = (("chat", "operator"),)
