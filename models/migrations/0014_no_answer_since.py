from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0013_webhook_held_chats')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Chat',
            name='no_answer_since',
            field=fields.DatetimeField(null=True, description='since when it waits, never answered, in its channel queue for the no-answer rule (null: not waiting for it)', auto_now=False, auto_now_add=False),
        ),
        # the chats waiting for their rule at the upgrade: since their move by a no-answer rule, else since
        # their creation (a chat transferred by hand before the upgrade counts from its creation)
        ops.RunSQL(
            "UPDATE chat SET no_answer_since = COALESCE(no_answer_at, created_at) "
            "WHERE status = 'QUEUED' AND answered_at IS NULL "
            "AND (no_answer_at IS NULL OR id IN (SELECT chat_id FROM timer WHERE kind = 'NO_ANSWER'))",
            reverse_sql="SELECT 1",
        ),
    ]
