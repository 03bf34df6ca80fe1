from tortoise import fields
from tortoise.models import Model


class CannedResponse(Model):
    """A prepared answer. Without an open channel it is personal (its author's), with one it is
    shared with that channel's queue."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    text = fields.TextField()
    open_channel = fields.ForeignKeyField("models.OpenChannel", related_name="canned_responses", null=True,
                                          on_delete=fields.CASCADE)
    created_by = fields.ForeignKeyField("models.Operator", related_name="canned_responses", null=True,
                                        on_delete=fields.SET_NULL)
    #: saved from a silent note: sent as a silent note, never to the client (services/policies/copy_audience.py)
    silent = fields.BooleanField(default=False, db_default=False,
                                 description="saved from a silent note: sent as a silent note only")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "canned_response"
