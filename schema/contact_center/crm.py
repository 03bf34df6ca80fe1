"""CRM types: contacts, companies, deals, leads, and what saveChatToCrm returns.

Their relations load through per-request loaders (resolvers/contact_center/relations.py), kept on the
request's Loaders object, so a list of clients with their CRM links costs one statement per relation.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

import models
from schema.common import Node, UserError
from resolvers.contact_center import relations as r
from resolvers.ids import to_global_id

if TYPE_CHECKING:
    from schema.chats.chat import Chat


@strawberry.type(description="A company in the CRM. Operators only.")
class CrmCompany(Node):
    id: strawberry.ID
    title: str
    pk: strawberry.Private[int]

    @strawberry.field
    async def contacts(self, info: Info) -> list[Annotated["CrmContact", strawberry.lazy("schema.contact_center.crm")]]:
        return [CrmContact.from_model(c) for c in await r.contacts_of_company(info, self.pk)]

    @classmethod
    def from_model(cls, company: models.CrmCompany) -> "CrmCompany":
        return cls(id=strawberry.ID(to_global_id("CrmCompany", company.id)), pk=company.id, title=company.title)


@strawberry.type(description="A person in the CRM (e-mail in lower case, phone in E.164). Operators only.")
class CrmContact(Node):
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    pk: strawberry.Private[int]
    company_pk: strawberry.Private[int | None]

    @strawberry.field
    async def company(self, info: Info) -> CrmCompany | None:
        return await _company(info, self.company_pk)

    @strawberry.field
    async def deals(self, info: Info) -> list[Annotated["CrmDeal", strawberry.lazy("schema.contact_center.crm")]]:
        return [CrmDeal.from_model(d) for d in await r.deals_of_contact(info, self.pk)]

    @classmethod
    def from_model(cls, contact: models.CrmContact) -> "CrmContact":
        return cls(id=strawberry.ID(to_global_id("CrmContact", contact.id)), pk=contact.id, name=contact.name,
                   email=contact.email, phone=contact.phone, company_pk=contact.company_id)


@strawberry.type(description="A deal in the CRM. Operators only.")
class CrmDeal(Node):
    id: strawberry.ID
    title: str
    stage: str
    amount: float | None
    pk: strawberry.Private[int]
    contact_pk: strawberry.Private[int | None]
    company_pk: strawberry.Private[int | None]

    @strawberry.field
    async def contact(self, info: Info) -> CrmContact | None:
        return await _contact(info, self.contact_pk)

    @strawberry.field
    async def company(self, info: Info) -> CrmCompany | None:
        return await _company(info, self.company_pk)

    @classmethod
    def from_model(cls, deal: models.CrmDeal) -> "CrmDeal":
        return cls(id=strawberry.ID(to_global_id("CrmDeal", deal.id)), pk=deal.id, title=deal.title, stage=deal.stage,
                   amount=float(deal.amount) if deal.amount is not None else None, contact_pk=deal.contact_id,
                   company_pk=deal.company_id)


@strawberry.type(description="A lead in the CRM, made from a client's data. Operators only.")
class CrmLead(Node):
    id: strawberry.ID
    title: str
    name: str
    email: str | None
    phone: str | None
    created_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, lead: models.CrmLead) -> "CrmLead":
        return cls(id=strawberry.ID(to_global_id("CrmLead", lead.id)), pk=lead.id, title=lead.title, name=lead.name,
                   email=lead.email, phone=lead.phone, created_at=lead.created_at)


async def _contact(info: Info, pk: int | None) -> CrmContact | None:
    if pk is None:
        return None
    contact = await r.crm_contact(info, pk)
    return CrmContact.from_model(contact) if contact else None


async def _company(info: Info, pk: int | None) -> CrmCompany | None:
    if pk is None:
        return None
    company = await r.crm_company(info, pk)
    return CrmCompany.from_model(company) if company else None


async def client_link(info: Info, client_pk: int, relation: str):
    """The CRM record of this relation a client links to (operators only, null for a visitor)."""
    row = await r.client_link(info, client_pk, relation)
    kinds: dict[str, Any] = {"contact": CrmContact, "company": CrmCompany, "deal": CrmDeal, "lead": CrmLead}
    return kinds[relation].from_model(row) \
        if row else None


@strawberry.type
class SaveChatToCrmPayload:
    chat: Annotated["Chat", strawberry.lazy("schema.chats.chat")] | None
    created: bool = strawberry.field(
        description="False when the client was already in the CRM and the existing records are returned."
    )
    contact: CrmContact | None
    lead: CrmLead | None
    user_errors: list[UserError]

