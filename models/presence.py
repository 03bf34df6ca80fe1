from tortoise import fields
from tortoise.models import Model


class ServerProcess(Model):
    """A running server process, which renews its heartbeat while it lives. A process whose heartbeat
    is older than the expiry is dead: its connections no longer count."""

    id = fields.CharField(primary_key=True, max_length=64)
    started_at = fields.DatetimeField(auto_now_add=True)
    heartbeat_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "server_process"


class OperatorConnection(Model):
    """An operator's open WebSocket, held by one server process."""

    id = fields.IntField(primary_key=True)
    process_id = fields.CharField(max_length=64, db_index=True)
    operator_id = fields.IntField(db_index=True)
    opened_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "operator_connection"
