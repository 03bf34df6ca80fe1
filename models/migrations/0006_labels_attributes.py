from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_live_views')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ClientAttribute',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.ForeignKeyField('models.Client', source_field='client_id', db_constraint=True, to_field='id', related_name='attributes', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=64)),
                ('value', fields.CharField(max_length=1000)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'client_attribute', 'app': 'models', 'unique_together': (('client', 'key'),), 'pk_attr': 'id', 'table_description': 'A key and value on a client (plan = gold), set by the operators who write to them.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Label',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('color', fields.CharField(description='#RRGGBB', max_length=7)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'label', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A tag an admin defines (billing, vip...) that operators put on chats to sort and filter them.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatLabel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat', fields.ForeignKeyField('models.Chat', source_field='chat_id', db_constraint=True, to_field='id', related_name='chat_labels', on_delete=OnDelete.CASCADE)),
                ('label', fields.ForeignKeyField('models.Label', source_field='label_id', db_constraint=True, to_field='id', related_name='chat_labels', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'chat_label', 'app': 'models', 'unique_together': (('chat', 'label'),), 'indexes': [Index(fields=['label_id', 'chat_id'])], 'pk_attr': 'id', 'table_description': 'A label on a chat (a chat has each label at most once).'},
            bases=['Model'],
        ),
    ]
