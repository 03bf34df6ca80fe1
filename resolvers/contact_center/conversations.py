"""Entry points of the contact center: conversations list, client history, message search, statistics."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import strawberry
from strawberry.types import Info

import models
from resolvers.errors import Outcome, id_argument, outcome, unauthenticated_on_top as _call, viewer_of as _viewer
from resolvers.ids import decode_id, decode_ids, decode_optional_id
from resolvers.prefetch import (
    CHAT_COLUMNS, last_message_columns, prime_relations, selected_at, wanted_columns, wanted_relations, wants_cursors,
)
from services.common.pagination import Page
from services.contact_center import conversations as service
from services.contact_center import search
from services.contact_center import statistics as statistics_service

if TYPE_CHECKING:
    from schema.contact_center.conversations import (
        ConversationFilter, ConversationOrder, MessageSearchFilter, StartConversationInput,
    )
    from schema.contact_center.statistics import StatisticsFilter


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
        label_ids=decode_ids(f.label_ids, "Label", ["filter", "labelIds"]),
        priorities=[models.ChatPriority(p.value) for p in f.priorities] if f.priorities is not None else None,
        sla_breached=f.sla_breached,
    )


async def conversations(info: Info, filter: ConversationFilter | None = None,
                        order_by: ConversationOrder | None = None, first: int | None = None, after: str | None = None, last: int | None = None,
                        before: str | None = None) -> Page:
    """A page of conversations, with the relations the selection asks of them (`page.relations`,
    read in the same statement)."""
    async def run():
        return await service.conversations(
            _viewer(info), filter=_filter(filter), order=service.ConversationOrder(order_by.value if order_by else "NEWEST"),
            first=first, after=after, last=last, before=before,
            with_total="totalCount" in selected_at(info, ()),  # else counted on demand
            with_cursors=wants_cursors(info), relations=wanted_relations(info, ("edges", "node")),
            chat_columns=wanted_columns(info, CHAT_COLUMNS, ("edges", "node")),
            relation_columns=last_message_columns(info, ("edges", "node")),
        )

    page = await _call(run())
    prime_relations(info, page.relations)
    return page


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
                          after: str | None = None, last: int | None = None, before: str | None = None) -> Page:
    """A keyset page of messages, best match first (its cursors carry the rank)."""
    with_total = "totalCount" in selected_at(info, ())  # else counted on demand

    async def run():
        return await search.search_messages(_viewer(info), query=query, filter=_message_filter(filter), first=first,
                                            after=after, last=last, before=before, with_total=with_total)

    page = await _call(run())
    chats = {found["chat"].id: found["chat"] for found in page.relations.values()}
    if chats:  # read with the page: `chat { ... }` of the results needs no statement of its own
        info.context.loaders.chat.prime_many(chats)
    return page


async def client(info: Info, id: strawberry.ID) -> models.Client | None:
    viewer = _viewer(info)
    return await _call(service.get_client(viewer, id_argument(id, "Client")))


async def start_conversation(info: Info, input: StartConversationInput) -> Outcome[models.Chat]:
    async def run():
        return await service.start_conversation(
            _viewer(info), client_id=decode_id(input.client_id, "Client", ["input", "clientId"]),
            open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            text=input.text,
        )

    return await outcome(run())


async def statistics(info: Info, filter: StatisticsFilter) -> statistics_service.Statistics:
    async def run():
        return await statistics_service.statistics(_viewer(info), filter=statistics_service.StatisticsFilter(
            created_from=filter.from_, created_to=filter.to,
            open_channel_ids=decode_ids(filter.open_channel_ids, "OpenChannel", ["filter", "openChannelIds"]),
            operator_ids=decode_ids(filter.operator_ids, "Operator", ["filter", "operatorIds"]),
            time_zone=filter.time_zone if filter.time_zone is not None else "UTC",
            label_ids=decode_ids(filter.label_ids, "Label", ["filter", "labelIds"]),
            priorities=list(filter.priorities) if filter.priorities is not None else None,
        ), message_counts=asks_for(info, MESSAGE_FIGURES), event_figures=asks_for(info, EVENT_FIGURES),
            groupings=frozenset(g for field, g in BREAKDOWNS.items() if asks_for(info, frozenset({field}))))

    return await _call(run())


#: the breakdowns, each computed only when the query selects it
BREAKDOWNS = {"byOperator": statistics_service.BY_OPERATOR, "byOpenChannel": statistics_service.BY_OPEN_CHANNEL,
              "byDay": statistics_service.BY_DAY, "byHour": statistics_service.BY_HOUR,
              "byLabel": statistics_service.BY_LABEL, "byPriority": statistics_service.BY_PRIORITY}
#: the figures that need the messages of the window (the costly part of the statement)
MESSAGE_FIGURES = frozenset({"clientMessages", "operatorMessages"})
#: the figures that need the window's events (queue waits, first answers, transfers)
EVENT_FIGURES = frozenset({"averageQueueWaitSeconds", "medianQueueWaitSeconds", "averageHandleSeconds", "transfers"})


def asks_for(info: Info, figures: frozenset[str]) -> bool:
    """Whether the query selects one of these figures anywhere under `statistics` (fields,
    fragments, inline fragments), so that the service reads messages or events only when they
    are shown."""
    def walk(selections: Iterable[Any]) -> bool:
        return any(getattr(s, "name", None) in figures or walk(getattr(s, "selections", None) or [])
                   for s in selections)

    return walk(info.selected_fields)
