from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.open_channel import OpenChannel
    from models.operator import Operator


class CannedResponse(Model):
    """A prepared answer. Without an open channel it is personal (its author's), with one it is
    shared with that channel's queue."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    text = fields.TextField()
    open_channel: fields.ForeignKeyNullableRelation["OpenChannel"] = fields.ForeignKeyField("models.OpenChannel", related_name="canned_responses", null=True,
                                                                                            on_delete=fields.CASCADE)
    open_channel_id: int | None
    created_by: fields.ForeignKeyNullableRelation["Operator"] = fields.ForeignKeyField("models.Operator", related_name="canned_responses", null=True,
                                                                                       on_delete=fields.SET_NULL)
    created_by_id: int | None
    #: saved from a silent note: sent as a silent note, never to the client (services/policies/copy_audience.py)
    silent = fields.BooleanField(default=False, db_default=False,
                                 description="saved from a silent note: sent as a silent note only")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "canned_response"
