from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_no_answer')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Webhook',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(max_length=2000)),
                ('event_kinds', fields.JSONField(default=list, description='QueueEventKind and ChatEventKind names it receives, empty for all', encoder=JSON_DUMPS, decoder=loads)),
                ('include_silent_notes', fields.BooleanField(default=False)),
                ('active', fields.BooleanField(default=True)),
                ('secret', fields.CharField(max_length=128)),
                ('delivered_event_id', fields.BigIntField(default=0, description='the cursor in the event log, see the class docstring')),
                ('failing', fields.BooleanField(default=False, description='true while the newest attempt failed')),
                ('retry_at', fields.DatetimeField(null=True, description='the next attempt of a failed delivery is not made before this time', auto_now=False, auto_now_add=False)),
                ('delivering_until', fields.DatetimeField(null=True, description='while set and in the future, one scheduler loop is delivering this webhook', auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An outbound webhook: the event log, past a cursor of its own, POSTed to an outside URL.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('webhook', fields.ForeignKeyField('models.Webhook', source_field='webhook_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('event_id', fields.BigIntField()),
                ('attempts', fields.IntField(default=0)),
                ('last_status', fields.IntField(null=True, description='HTTP status of the last attempt, null when the receiver did not answer')),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'models', 'unique_together': (('webhook', 'event_id'),), 'pk_attr': 'id', 'table_description': 'The attempts to deliver one event to one webhook (a replay attempts it again).'},
            bases=['Model'],
        ),
    ]
