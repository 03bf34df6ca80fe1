"""Entry points of the contact center: conversations list, client history, message search, statistics."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.prefetch import attach_relations, selected_at, wanted_relations, wants_cursors
from resolvers.errors import id_argument, payload, unauthenticated_on_top as _call, viewer_of as _viewer
from schema.chats.chat import Chat, ChatConnection
from schema.chats.client import Client
from schema.contact_center.conversations import ConversationFilter, ConversationOrder, MessageSearchFilter, StartConversationInput
from schema.ids import decode_id, decode_ids, decode_optional_id
from schema.common import page_info_of
from schema.chats.message import Message, MessageConnection, MessageEdge
from schema.payloads import ChatPayload
from schema.contact_center.statistics import Statistics, StatisticsFilter, asks_for_message_counts
from services.contact_center import conversations as service
from services.contact_center import search
from services.contact_center import statistics as statistics_service


def _filter(f: ConversationFilter | None) -> service.ConversationFilter | None:
    if f is None:
        return None
    return service.ConversationFilter(
        statuses=list(f.statuses) if f.statuses is not None else None,
        open_channel_ids=decode_ids(f.open_channel_ids, "OpenChannel", ["filter", "openChannelIds"]),
        operator_ids=decode_ids(f.operator_ids, "Operator", ["filter", "operatorIds"]),
        client_id=decode_optional_id(f.client_id, "Client", ["filter", "clientId"]),
        created_from=f.from_, created_to=f.to, search=f.search, pinned=f.pinned,
        waiting_first_response=f.waiting_first_response,
    )


async def conversations(info: Info, filter: ConversationFilter | None = None,
                        order_by: ConversationOrder | None = ConversationOrder.NEWEST, first: int | None = None,
                        after: str | None = None, last: int | None = None, before: str | None = None) -> ChatConnection:
    async def run():
        return await service.conversations(
            _viewer(info), filter=_filter(filter),
            order=service.ConversationOrder((order_by or ConversationOrder.NEWEST).value),
            first=first, after=after, last=last, before=before,
            with_total="totalCount" in selected_at(info, ()),  # else counted on demand
            with_cursors=wants_cursors(info), relations=wanted_relations(info, ("edges", "node")),
        )

    page = await _call(run())
    connection = ChatConnection.from_page(page)
    attach_relations(info, [edge.node for edge in connection.edges], page.relations)  # read in the same statement
    return connection


def _message_filter(f: MessageSearchFilter | None) -> search.MessageSearchFilter | None:
    if f is None:
        return None
    return search.MessageSearchFilter(
        chat_id=decode_optional_id(f.chat_id, "Chat", ["filter", "chatId"]),
        client_id=decode_optional_id(f.client_id, "Client", ["filter", "clientId"]),
        open_channel_ids=decode_ids(f.open_channel_ids, "OpenChannel", ["filter", "openChannelIds"]),
        created_from=f.from_, created_to=f.to,
    )


async def search_messages(info: Info, query: str, filter: MessageSearchFilter | None = None, first: int | None = None,
                          after: str | None = None, last: int | None = None,
                          before: str | None = None) -> MessageConnection:
    with_total = "totalCount" in selected_at(info, ())  # else counted on demand

    async def run():
        return await search.search_messages(_viewer(info), query=query, filter=_message_filter(filter), first=first,
                                            after=after, last=last, before=before, with_total=with_total)

    return ranked_messages(await _call(run()))


def ranked_messages(page) -> MessageConnection:
    """A MessageConnection of a keyset page (its cursors carry the rank, not only the id)."""
    edges = [MessageEdge(cursor=cursor, node=Message.from_model(m)) for cursor, m in zip(page.cursors, page.rows)]
    return MessageConnection(edges=edges, page=page, page_info=page_info_of(page, [e.cursor for e in edges]))


async def client(info: Info, id: strawberry.ID) -> Client | None:
    viewer = _viewer(info)
    found = await _call(service.get_client(viewer, id_argument(id, "Client")))
    return Client.from_model(found) if found else None


async def start_conversation(info: Info, input: StartConversationInput) -> ChatPayload:
    async def run():
        return await service.start_conversation(
            _viewer(info), client_id=decode_id(input.client_id, "Client", ["input", "clientId"]),
            open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            text=input.text,
        )

    return await payload(ChatPayload, "chat", run(), Chat.from_model)



async def statistics(info: Info, filter: StatisticsFilter) -> Statistics:
    async def run():
        return await statistics_service.statistics(_viewer(info), filter=statistics_service.StatisticsFilter(
            created_from=filter.from_, created_to=filter.to,
            open_channel_ids=decode_ids(filter.open_channel_ids, "OpenChannel", ["filter", "openChannelIds"]),
            operator_ids=decode_ids(filter.operator_ids, "Operator", ["filter", "operatorIds"]),
        ), message_counts=asks_for_message_counts(info))

    return Statistics.from_service(await _call(run()))
