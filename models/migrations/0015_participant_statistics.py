"""PostgreSQL: the planner learns how many chats each operator takes part in.

`myChats` and an operator's `conversations` find the operator's chats through
`chat_participant.operator_id`. With the default statistics target (100) PostgreSQL keeps the
most common values of at most 100 operators and estimates every other operator at the average
(at the bench's size 602 rows for an operator who has 50): it then reads every ACTIVE chat of the
contact center and hash-joins them (4.3 ms) instead of looking up the operator's own 50 chats
(0.9 ms). Operators differ this much in real life too (a new operator beside veterans with
thousands of closed chats), so the column keeps statistics of up to 1,000 operators, gathered here
once; autovacuum's ANALYZE keeps them. SQLite has no such setting: nothing to do there.
"""
from tortoise import migrations
from tortoise.migrations import operations as ops

STATISTICS_TARGET = 1000


async def more_statistics(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            f"ALTER TABLE chat_participant ALTER COLUMN operator_id SET STATISTICS {STATISTICS_TARGET}; "
            "ANALYZE chat_participant")


async def default_statistics(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            "ALTER TABLE chat_participant ALTER COLUMN operator_id SET STATISTICS -1")


class Migration(migrations.Migration):
    dependencies = [('models', '0014_no_answer_since')]

    initial = False

    operations = [
        ops.RunPython(more_statistics, default_statistics),
    ]
