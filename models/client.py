from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.open_channel import OpenChannel


class Client(Model):
    """A customer who writes in through an open channel."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    #: the website's own id of this visitor, verified with the identity secret of identity_channel
    external_id = fields.CharField(max_length=255, null=True)
    identity_channel: fields.ForeignKeyNullableRelation["OpenChannel"] = fields.ForeignKeyField("models.OpenChannel", related_name="identified_clients", null=True, on_delete=fields.SET_NULL)
    identity_channel_id: int | None

    class Meta:
        table = "client"
        #: an external id names one client per channel (each channel signs with its own secret)
        unique_together = (("identity_channel", "external_id"),)


class VisitorSession(Model):
    """A visitor's bearer token: it reaches this client's chats in this open channel only.

    Only the SHA-256 of the token is stored.
    """

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation["Client"] = fields.ForeignKeyField("models.Client", related_name="visitor_sessions", on_delete=fields.CASCADE)
    client_id: int
    open_channel: fields.ForeignKeyRelation["OpenChannel"] = fields.ForeignKeyField("models.OpenChannel", related_name="visitor_sessions", on_delete=fields.CASCADE)
    open_channel_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "visitor_session"
