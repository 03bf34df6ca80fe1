from tortoise import fields
from tortoise.models import Model


class PersistedOperation(Model):
    """A trusted document: an operation registered from a client's build manifest, run by its id.

    The id is the manifest's (a SHA-256 hex of the body for Apollo's and GraphQL Codegen's
    defaults; a `sha256:` prefix is stored without it). An id never changes its body: clients
    built against it would otherwise run something else."""

    id = fields.CharField(max_length=255, primary_key=True)
    name = fields.CharField(max_length=255, null=True)
    #: query, mutation or subscription
    operation_type = fields.CharField(max_length=16)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "persisted_operation"
