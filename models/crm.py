from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.client import Client


class CrmCompany(Model):
    """A company in the CRM."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "crm_company"


class CrmContact(Model):
    """A person in the CRM. E-mail (lower case) and phone (E.164) are unique when set, so two
    saves of the same person at once cannot make two contacts."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, null=True, unique=True)
    phone = fields.CharField(max_length=32, null=True, unique=True)
    company: fields.ForeignKeyNullableRelation["CrmCompany"] = fields.ForeignKeyField("models.CrmCompany", related_name="contacts", null=True,
                                                                                      on_delete=fields.SET_NULL)
    company_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "crm_contact"


class CrmDeal(Model):
    """A deal, with its contact and company."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    stage = fields.CharField(max_length=64, default="NEW")
    amount = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    contact: fields.ForeignKeyNullableRelation["CrmContact"] = fields.ForeignKeyField("models.CrmContact", related_name="deals", null=True, on_delete=fields.SET_NULL)
    contact_id: int | None
    company: fields.ForeignKeyNullableRelation["CrmCompany"] = fields.ForeignKeyField("models.CrmCompany", related_name="deals", null=True, on_delete=fields.SET_NULL)
    company_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "crm_deal"


class CrmLead(Model):
    """A lead made from a client's data when the client was saved to the CRM."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=255)
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=32, null=True)
    contact: fields.ForeignKeyNullableRelation["CrmContact"] = fields.ForeignKeyField("models.CrmContact", related_name="leads", null=True, on_delete=fields.SET_NULL)
    contact_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "crm_lead"


class CrmClientLink(Model):
    """The CRM records a client is linked to (one row per client)."""

    id = fields.IntField(primary_key=True)
    client: fields.OneToOneRelation["Client"] = fields.OneToOneField("models.Client", related_name="crm_link", on_delete=fields.CASCADE)
    client_id: int
    contact: fields.ForeignKeyNullableRelation["CrmContact"] = fields.ForeignKeyField("models.CrmContact", related_name="client_links", null=True,
                                                                                      on_delete=fields.SET_NULL)
    contact_id: int | None
    company: fields.ForeignKeyNullableRelation["CrmCompany"] = fields.ForeignKeyField("models.CrmCompany", related_name="client_links", null=True,
                                                                                      on_delete=fields.SET_NULL)
    company_id: int | None
    deal: fields.ForeignKeyNullableRelation["CrmDeal"] = fields.ForeignKeyField("models.CrmDeal", related_name="client_links", null=True, on_delete=fields.SET_NULL)
    deal_id: int | None
    lead: fields.ForeignKeyNullableRelation["CrmLead"] = fields.ForeignKeyField("models.CrmLead", related_name="client_links", null=True, on_delete=fields.SET_NULL)
    lead_id: int | None

    class Meta:
        table = "crm_client_link"
