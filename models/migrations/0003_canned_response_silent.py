from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_messages_contact_center_automation')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CannedResponse',
            name='silent',
            field=fields.BooleanField(default=False, description='saved from a silent note: sent as a silent note only', db_default=False),
        ),
    ]
