from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ContactFields
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_sla')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OpenChannel',
            name='contact_fields',
            field=fields.CharEnumField(default=ContactFields.OPTIONAL, description='NONE: NONE\nOPTIONAL: OPTIONAL\nREQUIRED: REQUIRED', db_default='OPTIONAL', enum_type=ContactFields, max_length=16),
        ),
    ]
