from tortoise import fields
from tortoise.models import Model


class Event(Model):
    """A change, written in the transaction that makes it. Its id orders all events.

    Subscriptions replay rows after a client's `after` id and then follow the broker.
    One row may be both a queue event (`queue_kind`) and a chat event (`chat_kind`).
    """

    id = fields.BigIntField(primary_key=True)
    #: the precise change, e.g. CHAT_ANSWERED or MESSAGE_ADDED
    kind = fields.CharField(max_length=32)
    #: QueueEventKind when the change concerns a queue (else null)
    queue_kind = fields.CharField(max_length=32, null=True)
    #: ChatEventKind when the change concerns a chat, else null
    chat_kind = fields.CharField(max_length=32, null=True)
    chat_id = fields.IntField(null=True, db_index=True)
    open_channel_id = fields.IntField(null=True, db_index=True)
    message_id = fields.IntField(null=True)
    #: operators whose own chat list this changes (offered, responsible, participants, before and after)
    operator_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    #: false for silent notes: never streamed to a visitor or a connector
    visitor_visible = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event"
