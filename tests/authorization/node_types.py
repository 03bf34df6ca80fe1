"""`node(id:)` reaches every type that implements Node: one object of each type × every caller.

The matrix's `Query.node` row asks for chat X only; here the same field is asked for an object
of every Node type (tests/authorization/test_node_types.py fails when a Node type has no row).
Cells as in the matrix: ``ok`` (the object is returned), ``hidden`` (null: not disclosed),
``UNAUTHENTICATED`` (no token: a top-level error, for every type alike).
"""
from __future__ import annotations

from typing import Callable

from models import CrmClientLink, CrmCompany, CrmContact, CrmDeal, CrmLead, Order
from infrastructure.platform import Platform
from resolvers.context import Context
from schema import schema
from resolvers.ids import to_global_id
from services.contact_center import crm
from services.messaging import files
from services.messaging import messages
from services.contact_center import sales
from tests.authorization.matrix import HIDDEN, OK, PNG, TOKENS, Outcome
from tests.authorization.world import CALLERS, World, build_world

NODE = "query($id: ID!) { node(id: $id) { id } }"

# columns: anonymous visitor other_visitor channel_operator other_operator participant supervisor admin
NODE_ROWS: dict[str, tuple[str, str]] = {
    # label: (key of the object in `objects`, expected)
    "node(Chat)": ("Chat", "UNA ok  hid ok  hid ok  ok  ok"),
    "node(Message)": ("Message", "UNA ok  hid ok  hid ok  ok  ok"),
    "node(Message, silent note)": ("Message:silent", "UNA hid hid ok  hid ok  ok  ok"),
    "node(Operator)": ("Operator", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(OpenChannel)": ("OpenChannel", "UNA hid hid ok  hid hid ok  ok"),
    "node(Client)": ("Client", "UNA ok  hid ok  hid ok  ok  ok"),
    "node(CrmContact)": ("CrmContact", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(CrmCompany)": ("CrmCompany", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(CrmDeal)": ("CrmDeal", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(CrmLead)": ("CrmLead", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(Product)": ("Product", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(Order)": ("Order", "UNA ok  hid ok  hid ok  ok  ok"),
    "node(Attachment)": ("Attachment", "UNA ok  hid ok  hid ok  ok  ok"),
    "node(Attachment, not sent yet)": ("Attachment:unsent", "UNA hid hid ok  hid hid hid hid"),
    "node(CannedResponse)": ("CannedResponse", "UNA hid hid ok  hid hid ok  ok"),
    "node(Task)": ("Task", "UNA hid hid ok  hid hid ok  ok"),
    "node(FeedPost)": ("FeedPost", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(Label)": ("Label", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(SlaPolicy)": ("SlaPolicy", "UNA hid hid ok  ok  ok  ok  ok"),
    "node(Webhook)": ("Webhook", "UNA hid hid hid hid hid hid ok"),
}


async def node_objects(world: World, platform: Platform) -> dict[str, str]:
    """A global id of each Node type in the answered world (adds an order, files and CRM records)."""
    me = world.viewers["channel_operator"]
    gid: Callable[[str, int], str] = to_global_id
    order = await sales.create_chat_order(me, chat_id=world.chat_id, lines=[sales.OrderLine(world.product_id, 1)],
                                          payment_url_template="https://pay.example.test/{order_id}")
    sent = await files.upload_file(me, platform.files, chat_id=world.chat_id, name="invoice.png", data=PNG)
    await messages.send_message(me, chat_id=world.chat_id, text="Your invoice", attachment_ids=[sent.id])
    unsent = await files.upload_file(me, platform.files, chat_id=world.chat_id, name="draft.png", data=PNG)
    saved = await crm.save_chat_to_crm(me, chat_id=world.chat_id)
    company = await CrmCompany.create(title="Visitor Ltd")
    await CrmContact.filter(id=saved.contact.id).update(company_id=company.id)
    deal = await CrmDeal.create(title="Gift cards", contact_id=saved.contact.id, company_id=company.id)
    await CrmClientLink.filter(client_id=world.client_id).update(company_id=company.id, deal_id=deal.id)
    assert await Order.filter(id=order.id).exists() and await CrmLead.filter(id=saved.lead.id).exists()
    return {
        "Chat": world.chat, "Message": gid("Message", world.visitor_message_id),
        "Message:silent": gid("Message", world.silent_note_id), "Operator": world.operator("channel_operator"),
        "OpenChannel": gid("OpenChannel", world.channel_id), "Client": gid("Client", world.client_id),
        "CrmContact": gid("CrmContact", saved.contact.id), "CrmCompany": gid("CrmCompany", company.id),
        "CrmDeal": gid("CrmDeal", deal.id), "CrmLead": gid("CrmLead", saved.lead.id),
        "Product": gid("Product", world.product_id), "Order": gid("Order", order.id),
        "Attachment": gid("Attachment", sent.id), "Attachment:unsent": gid("Attachment", unsent.id),
        "CannedResponse": gid("CannedResponse", world.canned_response_id), "Task": gid("Task", world.task_id),
        "FeedPost": gid("FeedPost", world.feed_post_id), "Label": gid("Label", world.label_id),
        "SlaPolicy": gid("SlaPolicy", world.sla_policy_id),
        "Webhook": gid("Webhook", world.webhook_id),
    }


def node_types() -> set[str]:
    graphql_schema = schema._schema
    return {t.name for t in graphql_schema.get_possible_types(graphql_schema.get_type("Node"))}


async def run_node_types(platform: Platform) -> list[Outcome]:
    """Every row × every caller (reads only: one world for all)."""
    world = await build_world("answered")
    objects = await node_objects(world, platform)
    outcomes = []
    for label, (key, expected) in NODE_ROWS.items():
        for caller, token in zip(CALLERS, expected.split()):
            result = await schema.execute(NODE, variable_values={"id": objects[key]},
                                          context_value=Context(viewer=world.viewers[caller], platform=platform))
            if result.errors:
                observed = (result.errors[0].extensions or {}).get("code") or "ERROR"
                detail = result.errors[0].message
            else:
                found = result.data["node"]
                observed = OK if found and found["id"] == objects[key] else HIDDEN
                detail = ""
            outcomes.append(Outcome(label, caller, TOKENS[token], observed, detail))
    return outcomes
