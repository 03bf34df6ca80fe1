from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_canned_response_silent')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PersistedOperation',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('name', fields.CharField(null=True, max_length=255)),
                ('operation_type', fields.CharField(description='query, mutation or subscription', max_length=16)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'persisted_operation', 'app': 'models', 'pk_attr': 'id', 'table_description': "A trusted document: an operation registered from a client's build manifest, run by its id."},
            bases=['Model'],
        ),
    ]
