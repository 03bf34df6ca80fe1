from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import ContactFields, NoAnswerRule, QueueDistribution

if TYPE_CHECKING:
    from models.operator import Operator
    from models.sla import SlaPolicy


class OpenChannel(Model):
    """A queue of operators that client conversations land in."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    distribution = fields.CharEnumField(QueueDistribution, max_length=16, default=QueueDistribution.EVENLY)
    answer_timeout_seconds = fields.IntField(default=60)
    auto_close_after_seconds = fields.IntField(default=86400)
    rating_enabled = fields.BooleanField(default=True)
    welcome_message = fields.TextField(null=True)
    max_chats_per_operator = fields.IntField(null=True)
    #: when operators work, as JSON text (services/chats/working_hours.py to_stored), null: always
    working_hours = fields.TextField(null=True)
    #: sent once per chat to a client who writes outside working hours (null: the default text)
    after_hours_message = fields.TextField(null=True)
    #: IETF tag of the system texts (services/chats/system_texts.py)
    language = fields.CharField(max_length=35, default="en", db_default="en")
    #: whether a visitor is asked their name and e-mail before the first message (REQUIRED: startVisitorChat needs both)
    contact_fields = fields.CharEnumField(ContactFields, max_length=16, default=ContactFields.OPTIONAL,
                                          db_default="OPTIONAL")
    #: the key of visitor identity hashes (HMAC-SHA256 of the website's user id), null: none yet
    identity_secret = fields.CharField(max_length=128, null=True)
    #: what happens to a queued chat nobody answers within no_answer_timeout_seconds (working seconds)
    no_answer_rule = fields.CharEnumField(NoAnswerRule, max_length=16, default=NoAnswerRule.KEEP_WAITING,
                                          db_default="KEEP_WAITING")
    #: null: the rule never fires
    no_answer_timeout_seconds = fields.IntField(null=True)
    #: sent by SEND_MESSAGE and CLOSE (null: the default text in the channel language)
    no_answer_message = fields.TextField(null=True)
    #: where TRANSFER moves the chat
    no_answer_transfer_to: fields.ForeignKeyNullableRelation["OpenChannel"] = fields.ForeignKeyField(
        "models.OpenChannel", related_name="no_answer_sources", null=True, on_delete=fields.SET_NULL)
    no_answer_transfer_to_id: int | None
    #: the service-level targets of its chats (services/chats/sla.py), null: none
    sla_policy: fields.ForeignKeyNullableRelation["SlaPolicy"] = fields.ForeignKeyField(
        "models.SlaPolicy", related_name="open_channels", null=True, on_delete=fields.SET_NULL)
    sla_policy_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "open_channel"


class QueueMember(Model):
    """An operator's place in an open channel's queue."""

    id = fields.IntField(primary_key=True)
    open_channel: fields.ForeignKeyRelation["OpenChannel"] = fields.ForeignKeyField("models.OpenChannel", related_name="members", on_delete=fields.CASCADE)
    open_channel_id: int
    operator: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="memberships", on_delete=fields.CASCADE)
    operator_id: int
    #: 0-based order in the queue (STRICT offers to the lowest position first).
    position = fields.IntField()
    #: when this member was last offered a chat of this channel (EVENLY picks the oldest).
    last_offered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "queue_member"
        unique_together = (("open_channel", "operator"),)
