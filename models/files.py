from tortoise import fields
from tortoise.models import Model


class Attachment(Model):
    """An uploaded file. It belongs to a chat from the upload on, and to a message once sent with it.

    The bytes live in the file storage under `storage_key`. `content_type` was sniffed from the
    bytes, never taken from the client.
    """

    id = fields.IntField(primary_key=True)
    chat = fields.ForeignKeyField("models.Chat", related_name="attachments", on_delete=fields.CASCADE)
    message = fields.ForeignKeyField("models.Message", related_name="attachments", null=True,
                                     on_delete=fields.SET_NULL)
    uploaded_by = fields.ForeignKeyField("models.Operator", related_name="uploads", null=True,
                                         on_delete=fields.SET_NULL)
    #: set when a visitor uploaded it
    uploaded_by_client = fields.ForeignKeyField("models.Client", related_name="uploads", null=True,
                                                on_delete=fields.SET_NULL)
    name = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=127)
    size = fields.IntField()
    storage_key = fields.CharField(max_length=255, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attachment"
