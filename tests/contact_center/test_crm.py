"""CRM: saveChatToCrm (never a duplicate, twice in a row or twice at once), client links, node()."""
from __future__ import annotations

import asyncio

import pytest

from models import CrmClientLink, CrmCompany, CrmContact, CrmDeal, CrmLead, QueueDistribution
from resolvers.ids import to_global_id
from services.identity import auth
from services.chats import chats
from services.contact_center import crm
from services.chats import visitors
from tests.factories import make_open_channel, make_operator
from tests.graphql.helpers import execute

SAVE = """mutation($c: ID!) { saveChatToCrm(input: {chatId: $c}) {
  created chat { id client { crmContact { id name email phone company { title } deals { title } }
                              crmLead { id name } crmCompany { title } crmDeal { title amount } } }
  contact { id name email phone } lead { id title name email phone createdAt }
  userErrors { code field }
} }"""


async def _client_chat(channel, operator_viewer, *, name="Carla", email=None, phone=None):
    chat, token = await visitors.start_visitor_chat(open_channel_id=channel.id, name=name, email=email, phone=phone,
                                                    text="hello")
    await chats.answer_chat(operator_viewer, chat_id=chat.id)
    return chat, await auth.authenticate(f"Bearer {token}")


@pytest.fixture
async def desk(db):
    ann, ann_v = await make_operator("Ann")
    channel = await make_open_channel([ann], distribution=QueueDistribution.ALL)
    return ann_v, channel


def test_phones_are_normalised_to_e164():
    assert crm.normalize_phone("(415) 555-0123") == "+14155550123"
    assert crm.normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert crm.normalize_phone("+1-415-555-0123") == "+14155550123"
    assert crm.normalize_phone("call me") is None
    assert crm.normalize_email("  Carla@Example.COM ") == "carla@example.com"


async def test_a_new_client_becomes_a_contact_and_a_lead_once(desk):
    ann_v, channel = desk
    chat, _ = await _client_chat(channel, ann_v, email="Carla@Example.com", phone="(415) 555-0123")
    first = (await execute(SAVE, ann_v, c=to_global_id("Chat", chat.id)))["saveChatToCrm"]
    assert first["userErrors"] == [] and first["created"] is True
    assert first["contact"]["email"] == "carla@example.com" and first["contact"]["phone"] == "+14155550123"
    assert first["lead"]["name"] == "Carla" and first["lead"]["phone"] == "+14155550123"
    linked = first["chat"]["client"]
    assert linked["crmContact"]["id"] == first["contact"]["id"] and linked["crmLead"]["id"] == first["lead"]["id"]

    again = (await execute(SAVE, ann_v, c=to_global_id("Chat", chat.id)))["saveChatToCrm"]
    assert again["created"] is False
    assert again["contact"]["id"] == first["contact"]["id"] and again["lead"]["id"] == first["lead"]["id"]
    assert await CrmContact.all().count() == 1 and await CrmLead.all().count() == 1


async def test_a_known_client_is_linked_to_the_existing_contact_by_email_or_phone(desk):
    ann_v, channel = desk
    company = await CrmCompany.create(title="Acme")
    by_email = await CrmContact.create(name="Carla Diaz", email="carla@example.com", company=company)
    await CrmDeal.create(title="Blenders for Acme", stage="PROPOSAL", amount="1250.50", contact=by_email,
                         company=company)
    by_phone = await CrmContact.create(name="Dan", phone="+14155550199")

    chat, _ = await _client_chat(channel, ann_v, email="CARLA@example.com")
    saved = (await execute(SAVE, ann_v, c=to_global_id("Chat", chat.id)))["saveChatToCrm"]
    assert saved["created"] is False and saved["contact"]["id"] == to_global_id("CrmContact", by_email.id)
    client = saved["chat"]["client"]
    assert client["crmCompany"] == {"title": "Acme"}
    assert client["crmDeal"] == {"title": "Blenders for Acme", "amount": 1250.5}
    assert client["crmContact"]["deals"] == [{"title": "Blenders for Acme"}]

    chat2, _ = await _client_chat(channel, ann_v, name="Daniel", phone="415.555.0199")
    saved2 = (await execute(SAVE, ann_v, c=to_global_id("Chat", chat2.id)))["saveChatToCrm"]
    assert saved2["created"] is False and saved2["contact"]["id"] == to_global_id("CrmContact", by_phone.id)
    assert await CrmContact.all().count() == 2 and await CrmLead.all().count() == 0


async def test_crm_records_through_node_are_for_operators_only(desk):
    ann_v, channel = desk
    chat, visitor = await _client_chat(channel, ann_v, email="eve@example.com")
    saved = (await execute(SAVE, ann_v, c=to_global_id("Chat", chat.id)))["saveChatToCrm"]
    query = "query($id: ID!) { node(id: $id) { id ... on CrmContact { name email } ... on CrmLead { title } } }"
    contact = (await execute(query, ann_v, id=saved["contact"]["id"]))["node"]
    assert contact == {"id": saved["contact"]["id"], "name": "Carla", "email": "eve@example.com"}
    assert (await execute(query, ann_v, id=saved["lead"]["id"]))["node"]["title"].endswith("Carla")
    assert (await execute(query, visitor, id=saved["contact"]["id"]))["node"] is None
    mine = await execute("{ visitorChat { client { crmContact { id } } } }", visitor)
    assert mine["visitorChat"]["client"]["crmContact"] is None


async def test_an_operator_who_cannot_see_the_chat_gets_not_found(desk):
    ann_v, channel = desk
    chat, _ = await _client_chat(channel, ann_v, email="x@example.com")
    _, stranger = await make_operator("Stranger")
    refused = (await execute(SAVE, stranger, c=to_global_id("Chat", chat.id)))["saveChatToCrm"]
    assert refused["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "chatId"]}]
    assert await CrmContact.all().count() == 0


@pytest.mark.postgres_only
async def test_twice_at_once_never_creates_duplicates(desk):
    ann_v, channel = desk
    chat, _ = await _client_chat(channel, ann_v, email="carla@example.com", phone="+14155550123")
    same_chat = await asyncio.gather(*[crm.save_chat_to_crm(ann_v, chat_id=chat.id) for _ in range(4)])
    assert sorted(s.created for s in same_chat) == [False, False, False, True]
    assert len({s.contact.id for s in same_chat}) == 1

    # four different clients with the same e-mail (different case), saved at the same moment
    others = [(await _client_chat(channel, ann_v, name=f"Twin {i}",
                                  email="TWIN@example.com" if i % 2 else "twin@example.com"))[0] for i in range(4)]
    results = await asyncio.gather(*[crm.save_chat_to_crm(ann_v, chat_id=c.id) for c in others])
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.contact.id for r in results}) == 1
    assert await CrmContact.filter(email="twin@example.com").count() == 1
    assert await CrmLead.all().count() == 2
    assert await CrmClientLink.all().count() == 5
