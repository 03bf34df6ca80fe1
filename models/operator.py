from tortoise import fields
from tortoise.models import Model

from models.enums import OperatorRole, OperatorStatus


class Operator(Model):
    """An employee on the operator side: operator, supervisor or admin."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, unique=True)
    role = fields.CharEnumField(OperatorRole, max_length=16, default=OperatorRole.OPERATOR)
    status = fields.CharEnumField(OperatorStatus, max_length=16, default=OperatorStatus.OFFLINE)
    #: scrypt hash ("scrypt$n$r$p$salt$hash"), or null: this operator signs in by API token only.
    password_hash = fields.CharField(max_length=255, null=True)
    show_open_channels_separately = fields.BooleanField(default=True)
    group_waiting_first_response = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    #: when the operator's last WebSocket closed (null: never connected, or connected now)
    last_seen_at = fields.DatetimeField(null=True)
    #: made AWAY by the presence rule (no connection for PRESENCE_GRACE_SECONDS), not by choice:
    #: such an operator becomes ONLINE again when they reconnect
    away_by_presence = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "operator"


class ApiToken(Model):
    """A bearer token of an operator. Only the SHA-256 of the token is stored."""

    id = fields.IntField(primary_key=True)
    operator: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="tokens", on_delete=fields.CASCADE)
    operator_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    #: null: never expires (tokens made by the CLI).
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"
