from tortoise import fields
from tortoise.models import Model


class CatalogGif(Model):
    """A GIF of the built-in catalog, added by an admin, found by its title and tags."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    #: space-separated lower-case tags
    tags = fields.TextField(default="")
    url = fields.CharField(max_length=2048)
    preview_url = fields.CharField(max_length=2048)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "catalog_gif"
