"""The CRM: contacts, companies, deals and leads, and saving a chat's client to it.

Who may read and write CRM records: services/policies/crm.py (operators of every role, never a
visitor).

`save_chat_to_crm` is duplicate-safe: the client's row is locked for the transaction (two saves
of one client run one after the other), and contacts are unique by e-mail (lower case) and by
phone (E.164), so two clients with the same e-mail saved at the same moment cannot both create
a contact: the loser's transaction fails on the unique index and is retried once, and then
finds the winner's contact.
"""
from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.models import Model

from models import Client, CrmClientLink, CrmCompany, CrmContact, CrmDeal, CrmLead
from services.policies import crm as policy
from services.policies.chats import operator_chat
from services.common.errors import InvalidState
from services.events.events import unit_of_work
from services.identity.viewer import Viewer

#: the region a phone number without a country code (no leading +) is read in
DEFAULT_PHONE_REGION = "US"
ATTEMPTS = 2


def normalize_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return email or None


def normalize_phone(phone: str | None, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164 (e.g. +14155550123); None when it is not a possible phone number."""
    if not phone or not phone.strip():
        return None
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class SavedToCrm:
    chat_id: int
    created: bool
    contact: CrmContact | None
    lead: CrmLead | None


async def save_chat_to_crm(viewer: Viewer, *, chat_id: int) -> SavedToCrm:
    """Link the chat's client to the CRM contact with the same e-mail or phone (`created` false),
    or create a contact and a lead from the client's data (`created` true). Idempotent."""
    policy.ensure_may_write(viewer)
    for attempt in range(ATTEMPTS):
        try:
            return await _save(viewer, chat_id)
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _save(viewer: Viewer, chat_id: int) -> SavedToCrm:
    async with unit_of_work(viewer) as uow:
        chat, _ = await operator_chat(viewer, chat_id, uow.tx)
        if chat.client_id is None:
            raise InvalidState("This chat has no client to save.", field=["input", "chatId"])
        client = await Client.filter(id=chat.client_id).using_db(uow.tx).select_for_update().first()
        assert client is not None  # the chat's client (a foreign key)
        link = await CrmClientLink.filter(client_id=client.id).using_db(uow.tx).first()
        if link is not None and link.contact_id is not None:
            return SavedToCrm(chat.id, False, await CrmContact.get(id=link.contact_id, using_db=uow.tx),
                              await CrmLead.get_or_none(id=link.lead_id, using_db=uow.tx) if link.lead_id else None)
        email, phone = normalize_email(client.email), normalize_phone(client.phone)
        contact = None
        if email or phone:
            match = Q(email=email) if email else Q(phone=phone)
            if email and phone:
                match = Q(email=email) | Q(phone=phone)
            contact = await CrmContact.filter(match).using_db(uow.tx).order_by("id").first()
        created = contact is None
        lead = None
        if created:
            contact = await CrmContact.create(using_db=uow.tx, name=client.name, email=email, phone=phone)
            lead = await CrmLead.create(using_db=uow.tx, title=f"Chat #{chat.id}: {client.name}", name=client.name,
                                        email=email, phone=phone, contact_id=contact.id)
        assert contact is not None  # found or created
        if not created:  # the contact's own lead and latest deal, if any
            lead = await CrmLead.filter(contact_id=contact.id).using_db(uow.tx).order_by("id").first()
        deal = await CrmDeal.filter(contact_id=contact.id).using_db(uow.tx).order_by("-id").first()
        links = {"contact_id": contact.id, "company_id": contact.company_id, "lead_id": lead.id if lead else None,
                 "deal_id": deal.id if deal else None}
        if link is None:
            await CrmClientLink.create(using_db=uow.tx, client_id=client.id, **links)
        else:
            await CrmClientLink.filter(id=link.id).using_db(uow.tx).update(**links)
    return SavedToCrm(chat.id, created, contact, lead)


# --------------------------------------------------------------------------- reads (batched)


async def links_of_clients(viewer: Viewer, client_ids: list[int]) -> dict[int, CrmClientLink]:
    return {link.client_id: link for link in await policy.records(viewer, CrmClientLink, client_id__in=client_ids)}


async def contacts_by_id(viewer: Viewer, ids: list[int]) -> dict[int, CrmContact]:
    return {c.id: c for c in await policy.by_ids(viewer, CrmContact, ids)}


async def companies_by_id(viewer: Viewer, ids: list[int]) -> dict[int, CrmCompany]:
    return {c.id: c for c in await policy.by_ids(viewer, CrmCompany, ids)}


async def deals_by_id(viewer: Viewer, ids: list[int]) -> dict[int, CrmDeal]:
    return {d.id: d for d in await policy.by_ids(viewer, CrmDeal, ids)}


async def leads_by_id(viewer: Viewer, ids: list[int]) -> dict[int, CrmLead]:
    return {lead.id: lead for lead in await policy.by_ids(viewer, CrmLead, ids)}


async def contacts_of_companies(viewer: Viewer, company_ids: list[int]) -> dict[int, list[CrmContact]]:
    grouped: dict[int, list[CrmContact]] = {i: [] for i in company_ids}
    for contact in await policy.records(viewer, CrmContact, company_id__in=company_ids).order_by("id"):
        assert contact.company_id is not None  # filtered on it
        grouped[contact.company_id].append(contact)
    return grouped


async def deals_of_contacts(viewer: Viewer, contact_ids: list[int]) -> dict[int, list[CrmDeal]]:
    grouped: dict[int, list[CrmDeal]] = {i: [] for i in contact_ids}
    for deal in await policy.records(viewer, CrmDeal, contact_id__in=contact_ids).order_by("id"):
        assert deal.contact_id is not None  # filtered on it
        grouped[deal.contact_id].append(deal)
    return grouped


async def crm_record(viewer: Viewer, model: type[Model], pk: int):
    """One CRM record by id for `node(id:)`: operators only (a visitor gets nothing)."""
    return await policy.records(viewer, model, id=pk).first()
