from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_contact_fields')]

    initial = False

    operations = [
        ops.AddField(
            model_name='WebhookDelivery',
            name='chat_id',
            field=fields.BigIntField(null=True, description="the event's chat while the event waits in a held chat (not delivered): the receiver refused it,"),
        ),
        ops.AddIndex(
            model_name='WebhookDelivery',
            index=Index(fields=['webhook_id', 'delivered_at', 'event_id']),
        ),
    ]
