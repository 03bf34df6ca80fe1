from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.chat import Chat


class SlaPolicy(Model):
    """Service-level targets an admin defines and open channels reference (services/chats/sla.py).

    Each target is seconds of working time (the channel's working hours), null: no such target.
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    first_response_seconds = fields.IntField(null=True)
    next_response_seconds = fields.IntField(null=True)
    resolution_seconds = fields.IntField(null=True)
    #: warn (SLA_WARNING) this many working seconds before a target is due, null: no warning
    warn_before_seconds = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sla_policy"


class ChatSla(Model):
    """A chat's service-level clocks: one row per chat started in a channel with a policy.

    Per target: `*_due_at` (null: the clock is not running: met, stopped or no such target),
    `*_warn_at` (null: no warning pending) and `*_breached_at` (null: not missed; set once).
    """

    id = fields.IntField(primary_key=True)
    chat: fields.OneToOneRelation["Chat"] = fields.OneToOneField(
        "models.Chat", related_name="sla", on_delete=fields.CASCADE)
    chat_id: int
    policy: fields.ForeignKeyRelation[SlaPolicy] = fields.ForeignKeyField(
        "models.SlaPolicy", related_name="chats", on_delete=fields.CASCADE)
    policy_id: int
    #: any target missed (the conversations filter and statistics read this one column)
    breached = fields.BooleanField(default=False, db_default=False)
    #: the oldest client message no operator has replied to yet (null: none waits)
    client_waiting_since = fields.DatetimeField(null=True)
    first_response_due_at = fields.DatetimeField(null=True)
    first_response_warn_at = fields.DatetimeField(null=True)
    first_response_breached_at = fields.DatetimeField(null=True)
    next_response_due_at = fields.DatetimeField(null=True)
    next_response_warn_at = fields.DatetimeField(null=True)
    next_response_breached_at = fields.DatetimeField(null=True)
    resolution_due_at = fields.DatetimeField(null=True)
    resolution_warn_at = fields.DatetimeField(null=True)
    resolution_breached_at = fields.DatetimeField(null=True)

    class Meta:
        table = "chat_sla"
