from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_contact_fields')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Chat',
            name='no_answer_since',
            field=fields.DatetimeField(null=True, description='since when it waits, never answered, in its channel queue for the no-answer rule (null: not waiting for it)', auto_now=False, auto_now_add=False),
        ),
    ]
