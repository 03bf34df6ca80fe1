from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ChatPriority
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_persisted_operations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OperatorConnection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('process_id', fields.CharField(db_index=True, max_length=64)),
                ('operator_id', fields.IntField(db_index=True)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'operator_connection', 'app': 'models', 'pk_attr': 'id', 'table_description': "An operator's open WebSocket, held by one server process."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServerProcess',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('heartbeat_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'server_process', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A running server process, which renews its heartbeat while it lives. A process whose heartbeat'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Chat',
            name='priority',
            field=fields.CharEnumField(default=ChatPriority.NORMAL, description='LOW: LOW\nNORMAL: NORMAL\nHIGH: HIGH\nURGENT: URGENT', db_default='NORMAL', enum_type=ChatPriority, max_length=16),
        ),
        ops.AlterField(
            model_name='Event',
            name='message_id',
            field=fields.IntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='Event',
            name='actor_id',
            field=fields.IntField(null=True, description='the operator who caused it, null for the client and the system (timers, rules)'),
        ),
        ops.AddField(
            model_name='Event',
            name='detail',
            field=fields.JSONField(null=True, description='what else the event says (an operator event: operator_id, status, connected, a transfer: comment...)', encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Event',
            name='removed_operator_ids',
            field=fields.JSONField(default=list, db_default='[]', description='operators for whom the chat leaves their own list with this event (CHAT_REMOVED on myChatsChanged)', encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Event',
            name='state',
            field=fields.JSONField(null=True, description='the chat right after the event: status, title, operator_id, open_channel_id, pinned, priority', encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Operator',
            name='away_by_presence',
            field=fields.BooleanField(default=False, description='made AWAY by the presence rule (no connection for PRESENCE_GRACE_SECONDS), not by choice:', db_default=False),
        ),
        ops.AddField(
            model_name='Operator',
            name='last_seen_at',
            field=fields.DatetimeField(null=True, description="when the operator's last WebSocket closed (null: never connected, or connected now)", auto_now=False, auto_now_add=False),
        ),
    ]
