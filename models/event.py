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
    message_id = fields.IntField(null=True, db_index=True)
    #: operators whose own chat list this changes (offered, responsible, participants, before and after)
    operator_ids: fields.JSONField[list[int]] = fields.JSONField(default=list)
    #: operators for whom the chat leaves their own list with this event (CHAT_REMOVED on myChatsChanged)
    removed_operator_ids: fields.JSONField[list[int]] = fields.JSONField(default=list, db_default="[]")
    #: the operator who caused it, null for the client and the system (timers, rules)
    actor_id = fields.IntField(null=True)
    #: the chat right after the event: status, title, operator_id, open_channel_id, pinned, priority
    state: fields.JSONField[dict | None] = fields.JSONField(null=True)
    #: what else the event says (an operator event: operator_id, status, connected, a transfer: comment...)
    detail: fields.JSONField[dict | None] = fields.JSONField(null=True)
    #: false for silent notes: never streamed to a visitor or a connector
    visitor_visible = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event"
