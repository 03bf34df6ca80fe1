from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_webhooks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SlaPolicy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('first_response_seconds', fields.IntField(null=True)),
                ('next_response_seconds', fields.IntField(null=True)),
                ('resolution_seconds', fields.IntField(null=True)),
                ('warn_before_seconds', fields.IntField(null=True, description='warn (SLA_WARNING) this many working seconds before a target is due, null: no warning')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sla_policy', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Service-level targets an admin defines and open channels reference (services/chats/sla.py).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatSla',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat', fields.OneToOneField('models.Chat', source_field='chat_id', db_constraint=True, to_field='id', related_name='sla', on_delete=OnDelete.CASCADE)),
                ('policy', fields.ForeignKeyField('models.SlaPolicy', source_field='policy_id', db_constraint=True, to_field='id', related_name='chats', on_delete=OnDelete.CASCADE)),
                ('breached', fields.BooleanField(default=False, description='any target missed (the conversations filter and statistics read this one column)', db_default=False)),
                ('client_waiting_since', fields.DatetimeField(null=True, description='the oldest client message no operator has replied to yet (null: none waits)', auto_now=False, auto_now_add=False)),
                ('first_response_due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_response_warn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_response_breached_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_response_due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_response_warn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_response_breached_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolution_due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolution_warn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolution_breached_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'chat_sla', 'app': 'models', 'pk_attr': 'id', 'table_description': "A chat's service-level clocks: one row per chat started in a channel with a policy."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='sla_policy',
            field=fields.ForeignKeyField('models.SlaPolicy', source_field='sla_policy_id', null=True, description='the service-level targets of its chats (services/chats/sla.py), null: none', db_constraint=True, to_field='id', related_name='open_channels', on_delete=OnDelete.SET_NULL),
        ),
    ]
