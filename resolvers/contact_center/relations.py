"""What the fields of the contact center's types read: a client's conversations, history and CRM
links, CRM relations, an order's items, a chat's orders (through the request's loaders)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Awaitable

from strawberry.types import Info

import models
from resolvers.pages import with_cursors
from services.chats import labels
from services.common.pagination import Page
from services.contact_center import conversations


async def client_chats(info: Info, client_pk: int, first: int | None = None, after: str | None = None,
                       last: int | None = None, before: str | None = None) -> Page:
    return with_cursors(await conversations.client_chats(info.context.viewer, client_id=client_pk, first=first,
                                                         after=after, last=last, before=before))


def client_attributes(info: Info, client_pk: int) -> Awaitable[list[models.ClientAttribute]]:
    """Operators only: a visitor gets none (services/policies/clients.py)."""
    return info.context.loaders.client_attributes.load(client_pk)


async def client_messages(info: Info, client_pk: int, search: str | None = None, created_from: datetime | None = None,
                          created_to: datetime | None = None, first: int | None = None, after: str | None = None,
                          last: int | None = None, before: str | None = None) -> Page:
    return with_cursors(await conversations.client_messages(
        info.context.viewer, client_id=client_pk, search_text=search, created_from=created_from,
        created_to=created_to, first=first, after=after, last=last, before=before,
    ))


async def client_link(info: Info, client_pk: int, relation: str) -> Any:
    """The CRM record of this relation ("contact", "company", "deal", "lead") a client links to, or
    None (for a visitor: the CRM policy gives the loaders no record)."""
    link = await info.context.loaders.crm.link_by_client.load(client_pk)
    pk = getattr(link, f"{relation}_id", None) if link else None
    if pk is None:
        return None
    return await getattr(info.context.loaders.crm, relation).load(pk)


def crm_contact(info: Info, pk: int) -> Awaitable[models.CrmContact | None]:
    return info.context.loaders.crm.contact.load(pk)


def crm_company(info: Info, pk: int) -> Awaitable[models.CrmCompany | None]:
    return info.context.loaders.crm.company.load(pk)


def contacts_of_company(info: Info, company_pk: int) -> Awaitable[list[models.CrmContact]]:
    return info.context.loaders.crm.contacts_of_company.load(company_pk)


def deals_of_contact(info: Info, contact_pk: int) -> Awaitable[list[models.CrmDeal]]:
    return info.context.loaders.crm.deals_of_contact.load(contact_pk)


def product(info: Info, pk: int) -> Awaitable[models.Product]:
    return info.context.loaders.sales.product.load(pk)


def items_of_order(info: Info, order_pk: int) -> Awaitable[list[Any]]:
    return info.context.loaders.sales.items_of_order.load(order_pk)


def orders_of_chat(info: Info, chat_pk: int) -> Awaitable[list[models.Order]]:
    return info.context.loaders.sales.orders_of_chat.load(chat_pk)


async def statistics_label(info: Info, label_pk: int) -> models.Label | None:
    """A label a statistics group names (labels are readable by every operator: services/policies/labels.py)."""
    return await labels.visible_label(info.context.viewer, label_pk)
