"""Entry points of the contact center: conversations, client history, search, statistics, CRM, sales.

Each root field calls its resolver (resolvers/contact_center/) and builds the GraphQL types from
what it returns."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.contact_center import chat_actions as a
from resolvers.contact_center import conversations as c
from resolvers.contact_center import crm
from resolvers.contact_center import sales
from schema.chats.chat import Chat, ChatConnection
from schema.chats.client import Client
from schema.chats.message import Message, MessageConnection, MessageEdge
from schema.chats.prefetched import attach_relations
from schema.common import page_info_of
from schema.contact_center.chat_actions import (
    BulkChatActionInput, BulkChatActionPayload, ClientInput, ClientPayload, SetClientAttributesInput,
)
from schema.contact_center.conversations import (
    ConversationFilter, ConversationOrder, MessageSearchFilter, StartConversationInput,
)
from schema.contact_center.crm import CrmContact, CrmLead, SaveChatToCrmPayload
from schema.contact_center.sales import (
    CreateChatOrderInput, CreateProductInput, Order, OrderPayload, Product, ProductPayload,
)
from schema.contact_center.statistics import Statistics, StatisticsFilter
from schema.inputs import ChatInput
from schema.payloads import ChatPayload, chat_payload, payload, user_errors


def ranked_messages(page) -> MessageConnection:
    """A MessageConnection of a keyset page (its cursors carry the rank, not only the id)."""
    edges = [MessageEdge(cursor=cursor, node=Message.from_model(m, page.relations.get(m.id, {}).get("chat")))
             for cursor, m in zip(page.cursors, page.rows)]
    return MessageConnection(edges=edges, page=page, page_info=page_info_of(page, [e.cursor for e in edges]))


@strawberry.type
class ContactCenterQuery:
    @strawberry.field(
        description="Contact center > Conversations: every conversation the viewer may see. At most 100 per page "
        "(`first`/`last`); cursors stay valid when conversations are added between pages.")
    async def conversations(self, info: Info, filter: ConversationFilter | None = None,
                            order_by: ConversationOrder | None = ConversationOrder.NEWEST, first: int | None = None,
                            after: str | None = None, last: int | None = None,
                            before: str | None = None) -> ChatConnection:
        page = await c.conversations(info, filter, order_by, first=first, after=after, last=last, before=before)
        connection = ChatConnection.from_page(page)
        attach_relations([edge.node for edge in connection.edges], page.relations)  # read in the same statement
        return connection

    @strawberry.field(
        description="Full-text search of messages the viewer may see (every word must occur), best match first. "
        "Silent notes are found by operators only.")
    async def search_messages(self, info: Info, query: str, filter: MessageSearchFilter | None = None,
                              first: int | None = None, after: str | None = None, last: int | None = None,
                              before: str | None = None) -> MessageConnection:
        return ranked_messages(await c.search_messages(info, query, filter, first=first, after=after, last=last,
                                                       before=before))

    @strawberry.field(description="A client by ID; null unless you may see one of their conversations. "
                                  "An ID that is not a Client's is an INVALID_INPUT error.")
    async def client(self, info: Info, id: strawberry.ID) -> Client | None:
        found = await c.client(info, id)
        return Client.from_model(found) if found else None

    @strawberry.field(
        description="Figures about the conversations created in [from, to), computed by the database. Supervisors "
        "and admins: every channel. An operator: only the conversations they are responsible for.")
    async def statistics(self, info: Info, filter: StatisticsFilter) -> Statistics:
        return Statistics.from_service(await c.statistics(info, filter))

    @strawberry.field(description="The sales catalog, by name; `search` matches part of the name.")
    async def products(self, info: Info, search: str | None = None) -> list[Product]:
        return [Product.from_model(p) for p in await sales.products(info, search)]


@strawberry.type
class ContactCenterMutation:
    @strawberry.mutation(
        description="Open an outbound conversation with a known client on a chosen open channel; you are responsible.")
    async def start_conversation(self, info: Info, input: StartConversationInput) -> ChatPayload:
        return chat_payload(await c.start_conversation(info, input))

    @strawberry.mutation(
        description="Save the chat's client to the CRM: linked to the contact with the same e-mail or phone "
        "(created: false), or a new contact and lead (created: true). Never creates duplicates.")
    async def save_chat_to_crm(self, info: Info, input: ChatInput) -> SaveChatToCrmPayload:
        done = await crm.save_chat_to_crm(info, input)
        if done.error is not None:
            return SaveChatToCrmPayload(chat=None, created=False, contact=None, lead=None, user_errors=user_errors(done))
        saved, chat = done.value
        return SaveChatToCrmPayload(
            chat=Chat.from_model(chat), created=saved.created,
            contact=CrmContact.from_model(saved.contact) if saved.contact else None,
            lead=CrmLead.from_model(saved.lead) if saved.lead else None, user_errors=[],
        )

    @strawberry.mutation(
        description="Order catalog items in an answered chat: the total is computed on the server, and the client "
        "gets a message with the summary and the payment link.")
    async def create_chat_order(self, info: Info, input: CreateChatOrderInput) -> OrderPayload:
        return payload(OrderPayload, "order", await sales.create_chat_order(info, input), Order.from_model)

    @strawberry.mutation(
        description="One action on up to 100 chats; each chat succeeds or fails on its own (in its own "
                    "transaction, by the single action's rules). More chats, or an argument the action lacks: "
                    "INVALID_INPUT and no chat changes.")
    async def bulk_chat_action(self, info: Info, input: BulkChatActionInput) -> BulkChatActionPayload:
        return BulkChatActionPayload.from_outcome(await a.bulk_chat_action(info, input))

    @strawberry.mutation(
        description="Set or remove (null value) a client's attributes: operators of one of the client's chats, "
                    "supervisors.")
    async def set_client_attributes(self, info: Info, input: SetClientAttributesInput) -> ClientPayload:
        return payload(ClientPayload, "client", await a.set_client_attributes(info, input), Client.from_model)

    @strawberry.mutation(
        description="Admins: the client's personal data and message texts erased for good (GDPR); statistics keep "
                    "their counts. Name, e-mail, phone, external id, attributes, message texts (the messages stay, "
                    "their text replaced), titles made from the name and files, in one transaction; the search "
                    "index follows. Others: FORBIDDEN; an unknown client: NOT_FOUND. Erasing twice is harmless.")
    async def erase_client(self, info: Info, input: ClientInput) -> ClientPayload:
        return payload(ClientPayload, "client", await a.erase_client(info, input), Client.from_model)

    @strawberry.mutation(description="Add a product to the catalog (ADMIN).")
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductPayload:
        return payload(ProductPayload, "product", await sales.create_product(info, input), Product.from_model)
