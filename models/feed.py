from tortoise import fields
from tortoise.models import Model


class FeedPost(Model):
    """A post in the operators' news feed, often shared from a message."""

    id = fields.IntField(primary_key=True)
    text = fields.TextField()
    author = fields.ForeignKeyField("models.Operator", related_name="feed_posts", on_delete=fields.CASCADE)
    source_message = fields.ForeignKeyField("models.Message", related_name="feed_posts", null=True,
                                            on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "feed_post"
