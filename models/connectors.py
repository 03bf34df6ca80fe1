from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.client import Client
    from models.message import Message
    from models.open_channel import OpenChannel


class Connector(Model):
    """A channel connector: messages of an outside messenger come into an open channel and
    operators' visible replies go back out.

    `kind` names the adapter (WEBHOOK or TELEGRAM). The secret signs both directions of a
    webhook (it is needed in clear to sign, so it is stored as such) and is the secret token
    Telegram sends with each update.
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)
    open_channel: fields.ForeignKeyRelation["OpenChannel"] = fields.ForeignKeyField("models.OpenChannel", related_name="connectors", on_delete=fields.CASCADE)
    open_channel_id: int
    secret = fields.CharField(max_length=128)
    #: where a webhook connector delivers replies
    callback_url = fields.CharField(max_length=2000, null=True)
    #: the Telegram bot token (TELEGRAM only)
    bot_token = fields.CharField(max_length=200, null=True)
    #: the Bot API base URL (TELEGRAM only), normally https://api.telegram.org
    api_url = fields.CharField(max_length=2000, null=True)
    #: while set and in the future, one scheduler loop is delivering this connector's outbox
    delivering_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "connector"


class ConnectorClient(Model):
    """The client behind an outside user id of a connector."""

    id = fields.IntField(primary_key=True)
    connector: fields.ForeignKeyRelation["Connector"] = fields.ForeignKeyField("models.Connector", related_name="clients", on_delete=fields.CASCADE)
    connector_id: int
    external_id = fields.CharField(max_length=200)
    client: fields.OneToOneRelation["Client"] = fields.OneToOneField("models.Client", related_name="connector_identity", on_delete=fields.CASCADE)
    client_id: int

    class Meta:
        table = "connector_client"
        unique_together = (("connector", "external_id"),)


class ConnectorInbound(Model):
    """An outside message already taken in: the same external message id is never taken twice."""

    id = fields.IntField(primary_key=True)
    connector: fields.ForeignKeyRelation["Connector"] = fields.ForeignKeyField("models.Connector", related_name="inbound", on_delete=fields.CASCADE)
    connector_id: int
    external_message_id = fields.CharField(max_length=200)
    message: fields.ForeignKeyNullableRelation["Message"] = fields.ForeignKeyField("models.Message", related_name="inbound", null=True, on_delete=fields.SET_NULL)
    message_id: int | None
    received_at = fields.DatetimeField()

    class Meta:
        table = "connector_inbound"
        unique_together = (("connector", "external_message_id"),)


class ConnectorOutbox(Model):
    """A visible operator message waiting to be delivered to the connector, in id order, until acknowledged."""

    id = fields.IntField(primary_key=True)
    connector: fields.ForeignKeyRelation["Connector"] = fields.ForeignKeyField("models.Connector", related_name="outbox", on_delete=fields.CASCADE)
    connector_id: int
    message: fields.OneToOneRelation["Message"] = fields.OneToOneField("models.Message", related_name="outbox_item", on_delete=fields.CASCADE)
    message_id: int
    external_id = fields.CharField(max_length=200)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "connector_outbox"
        indexes = (("connector_id", "delivered_at", "id"),)


class ConnectorCursor(Model):
    """How far the event log has been read for outbound messages (a single row)."""

    id = fields.IntField(primary_key=True)
    last_event_id = fields.BigIntField(default=0)

    class Meta:
        table = "connector_cursor"
