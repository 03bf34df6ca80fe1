from tortoise import fields
from tortoise.models import Model


class Webhook(Model):
    """An outbound webhook: the event log, past a cursor of its own, POSTed to an outside URL.

    `delivered_event_id` is the cursor (the newest event delivered and acknowledged, or passed
    over because it does not match), starting at the newest event when the webhook is made, so a
    restart loses nothing and the receiver gets each event at least once, in id order. The secret
    signs every request (it is needed in clear to sign, so it is stored as such).
    """

    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=2000)
    #: QueueEventKind and ChatEventKind names it receives, empty for all
    event_kinds: fields.JSONField[list[str]] = fields.JSONField(default=list)
    include_silent_notes = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)
    secret = fields.CharField(max_length=128)
    #: the cursor in the event log, see the class docstring
    delivered_event_id = fields.BigIntField(default=0)
    #: true while the newest attempt failed
    failing = fields.BooleanField(default=False)
    #: the next attempt of a failed delivery is not made before this time
    retry_at = fields.DatetimeField(null=True)
    #: while set and in the future, one scheduler loop is delivering this webhook
    delivering_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook"


class WebhookDelivery(Model):
    """The attempts to deliver one event to one webhook (a replay attempts it again)."""

    id = fields.IntField(primary_key=True)
    webhook: fields.ForeignKeyRelation["Webhook"] = fields.ForeignKeyField("models.Webhook", related_name="deliveries", on_delete=fields.CASCADE)
    webhook_id: int
    event_id = fields.BigIntField()
    #: the event's chat while the event waits in a held chat (not delivered): the receiver refused it,
    #: or an earlier event of its chat (services/automation/webhook_delivery.py)
    chat_id = fields.BigIntField(null=True)
    attempts = fields.IntField(default=0)
    #: HTTP status of the last attempt, null when the receiver did not answer
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "webhook_delivery"
        unique_together = (("webhook", "event_id"),)
        indexes = (("webhook_id", "delivered_at", "event_id"),)
