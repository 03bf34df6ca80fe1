from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.chat import Chat


class ChatRating(Model):
    """The client was asked to rate a finished chat (`requested_at`), and their answer, once.

    `vote` stays null until the client rates: LIKE or DISLIKE.
    """

    id = fields.IntField(primary_key=True)
    chat: fields.OneToOneRelation["Chat"] = fields.OneToOneField("models.Chat", related_name="rating", on_delete=fields.CASCADE)
    chat_id: int
    requested_at = fields.DatetimeField()
    vote = fields.CharField(max_length=8, null=True)
    comment = fields.TextField(null=True)
    rated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "chat_rating"
