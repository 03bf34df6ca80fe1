from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from schema.common import Node, build, instance
from schema.contact_center.crm import CrmCompany, CrmContact, CrmDeal, CrmLead, client_link
from resolvers.contact_center import relations as r
from resolvers.ids import to_global_id

if TYPE_CHECKING:
    from services.chats.read_models import ClientRow
    from schema.chats.chat import ChatConnection
    from schema.chats.message import MessageConnection


@strawberry.type(description="A key and value kept on a client, e.g. plan = gold.")
class ClientAttribute:
    key: str
    value: str

    @classmethod
    def from_model(cls, attribute: models.ClientAttribute) -> "ClientAttribute":
        return cls(key=attribute.key, value=attribute.value)


@strawberry.type(description="A customer who writes in through an open channel.")
class Client(Node):
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    external_id: str | None = strawberry.field(
        description="The website's own id of this visitor (verified with the channel's identity secret), if any.")
    pk: strawberry.Private[int]

    @strawberry.field(description="The CRM contact this client is linked to (operators only).")
    async def crm_contact(self, info: Info) -> CrmContact | None:
        return await client_link(info, self.pk, "contact")

    @strawberry.field(description="The CRM company this client is linked to (operators only).")
    async def crm_company(self, info: Info) -> CrmCompany | None:
        return await client_link(info, self.pk, "company")

    @strawberry.field(description="The CRM deal this client is linked to (operators only).")
    async def crm_deal(self, info: Info) -> CrmDeal | None:
        return await client_link(info, self.pk, "deal")

    @strawberry.field(description="The CRM lead made from this client (operators only).")
    async def crm_lead(self, info: Info) -> CrmLead | None:
        return await client_link(info, self.pk, "lead")

    @strawberry.field(description="Every conversation with this client, newest first.")
    async def chats(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                    before: str | None = None) -> Annotated["ChatConnection", strawberry.lazy("schema.chats.chat")]:
        return build("ChatConnection", await r.client_chats(info, self.pk, first=first, after=after, last=last,
                                                           before=before))

    @strawberry.field(description="Message history with this client across all conversations, oldest first, "
                      "filtered by keyword (every word must occur) and by date (from inclusive, to exclusive).")
    async def messages(
        self, info: Info, search: str | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None, to: datetime | None = None,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Annotated["MessageConnection", strawberry.lazy("schema.chats.message")]:
        return build("MessageConnection", await r.client_messages(
            info, self.pk, search=search, created_from=from_, created_to=to, first=first, after=after, last=last,
            before=before,
        ))

    @strawberry.field(description="Custom attributes, e.g. plan=gold, by key (operators only: a visitor sees none).")
    async def attributes(self, info: Info) -> list[ClientAttribute]:
        return [ClientAttribute.from_model(a) for a in await r.client_attributes(info, self.pk)]

    @classmethod
    def from_model(cls, client: ClientRow | models.Client) -> "Client":
        """From the read model (services/chats/read_models.py), or a model: the same attributes."""
        return instance(cls, {"id": strawberry.ID(to_global_id("Client", client.id)), "pk": client.id,
                              "name": client.name, "email": client.email, "phone": client.phone,
                              "external_id": client.external_id})
