"""Entry points of the contact center: conversations, client history, search, statistics, CRM, sales."""
from __future__ import annotations

import strawberry

from resolvers.contact_center import conversations as c
from resolvers.contact_center import crm
from resolvers.contact_center import sales
from schema.chats.chat import ChatConnection
from schema.chats.client import Client
from schema.contact_center.crm import SaveChatToCrmPayload
from schema.contact_center.sales import OrderPayload, Product, ProductPayload
from schema.chats.message import MessageConnection
from schema.payloads import ChatPayload
from schema.contact_center.statistics import Statistics


@strawberry.type
class ContactCenterQuery:
    conversations: ChatConnection = strawberry.field(
        resolver=c.conversations,
        description="Contact center > Conversations: every conversation the viewer may see. At most 100 per page "
        "(`first`/`last`); cursors stay valid when conversations are added between pages.",
    )
    search_messages: MessageConnection = strawberry.field(
        resolver=c.search_messages,
        description="Full-text search of messages the viewer may see (every word must occur), best match first. "
        "Silent notes are found by operators only.",
    )
    client: Client | None = strawberry.field(
        resolver=c.client, description="A client by ID; null unless you may see one of their conversations. "
                                       "An ID that is not a Client's is an INVALID_INPUT error."
    )
    statistics: Statistics = strawberry.field(
        resolver=c.statistics,
        description="Figures about the conversations created in [from, to), computed by the database. Supervisors "
        "and admins: every channel. An operator: only the conversations they are responsible for.",
    )
    products: list[Product] = strawberry.field(
        resolver=sales.products, description="The sales catalog, by name; `search` matches part of the name."
    )


@strawberry.type
class ContactCenterMutation:
    start_conversation: ChatPayload = strawberry.mutation(
        resolver=c.start_conversation,
        description="Open an outbound conversation with a known client on a chosen open channel; you are responsible.",
    )
    save_chat_to_crm: SaveChatToCrmPayload = strawberry.mutation(
        resolver=crm.save_chat_to_crm,
        description="Save the chat's client to the CRM: linked to the contact with the same e-mail or phone "
        "(created: false), or a new contact and lead (created: true). Never creates duplicates.",
    )
    create_chat_order: OrderPayload = strawberry.mutation(
        resolver=sales.create_chat_order,
        description="Order catalog items in an answered chat: the total is computed on the server, and the client "
        "gets a message with the summary and the payment link.",
    )
    create_product: ProductPayload = strawberry.mutation(
        resolver=sales.create_product, description="Add a product to the catalog (ADMIN)."
    )
