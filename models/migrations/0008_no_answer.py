from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import NoAnswerRule
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_working_hours')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Chat',
            name='no_answer_at',
            field=fields.DatetimeField(null=True, description='when its channel no-answer rule last fired for it (null: never)', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Chat',
            name='no_answer_moved',
            field=fields.BooleanField(default=False, description='moved by a no-answer rule once: no rule moves it again (no loops between channels)', db_default=False),
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='no_answer_message',
            field=fields.TextField(null=True, description='sent by SEND_MESSAGE and CLOSE (null: the default text in the channel language)', unique=False),
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='no_answer_rule',
            field=fields.CharEnumField(default=NoAnswerRule.KEEP_WAITING, description='KEEP_WAITING: KEEP_WAITING\nSEND_MESSAGE: SEND_MESSAGE\nTRANSFER: TRANSFER\nCLOSE: CLOSE', db_default='KEEP_WAITING', enum_type=NoAnswerRule, max_length=16),
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='no_answer_timeout_seconds',
            field=fields.IntField(null=True, description='null: the rule never fires'),
        ),
        ops.AddField(
            model_name='OpenChannel',
            name='no_answer_transfer_to',
            field=fields.ForeignKeyField('models.OpenChannel', source_field='no_answer_transfer_to_id', null=True, description='where TRANSFER moves the chat', db_constraint=True, to_field='id', related_name='no_answer_sources', on_delete=OnDelete.SET_NULL),
        ),
    ]
