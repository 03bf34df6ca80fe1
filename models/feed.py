from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.message import Message
    from models.operator import Operator


class FeedPost(Model):
    """A post in the operators' news feed, often shared from a message."""

    id = fields.IntField(primary_key=True)
    text = fields.TextField()
    author: fields.ForeignKeyRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="feed_posts", on_delete=fields.CASCADE)
    author_id: int
    source_message: fields.ForeignKeyNullableRelation["Message"] = fields.ForeignKeyField("models.Message", related_name="feed_posts", null=True,
                                                                                          on_delete=fields.SET_NULL)
    source_message_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "feed_post"
