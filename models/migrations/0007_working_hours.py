from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0006_labels_attributes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Chat',
            name='after_hours_message_at',
            field=fields.DatetimeField(null=True, description='when the client was told the channel is closed (at most once per chat)', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Client',
            name='external_id',
            field=fields.CharField(null=True, description="the website's own id of this visitor, verified with the identity secret of identity_channel", max_length=255),
        ),
        ops.AddField(
            model_name='Client',
            name='identity_channel',
            field=fields.ForeignKeyField('models.OpenChannel', source_field='identity_channel_id', null=True, db_constraint=True, to_field='id', related_name='identified_clients', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddConstraint(
            model_name='Client',
            constraint=UniqueConstraint(fields=('identity_channel', 'external_id'), name=None),
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='after_hours_message',
            field=fields.TextField(null=True, description='sent once per chat to a client who writes outside working hours (null: the default text)', unique=False),
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='identity_secret',
            field=fields.CharField(null=True, description="the key of visitor identity hashes (HMAC-SHA256 of the website's user id), null: none yet", max_length=128),
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='language',
            field=fields.CharField(default='en', description='IETF tag of the system texts (services/chats/system_texts.py)', db_default='en', max_length=35),
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='working_hours',
            field=fields.TextField(null=True, description='when operators work, as JSON text (services/chats/working_hours.py to_stored), null: always', unique=False),
        ),
    ]
