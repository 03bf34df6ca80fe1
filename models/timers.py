from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.chat import Chat


class Timer(Model):
    """Something due at a moment: the scheduler claims it when `due_at` has passed.

    At most one timer of a kind per chat (rescheduling moves `due_at`). A timer survives a
    restart: it is a row, never only a task in memory. Auto-close needs no row here: its due
    time is the chat's own `auto_close_at`.
    """

    id = fields.IntField(primary_key=True)
    #: what happens when it is due, e.g. OFFER_TIMEOUT
    kind = fields.CharField(max_length=32)
    chat: fields.ForeignKeyRelation["Chat"] = fields.ForeignKeyField("models.Chat", related_name="timers", on_delete=fields.CASCADE)
    chat_id: int
    due_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "timer"
        unique_together = (("kind", "chat"),)
