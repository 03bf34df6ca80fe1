"""Query entry points: parse, call one service, return what it found (the schema builds the types)."""
from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

import models
from resolvers.automation.webhooks import NODE_RESOLVERS as WEBHOOK_NODE_RESOLVERS
from resolvers.chats.labels import NODE_RESOLVERS as LABEL_NODE_RESOLVERS
from resolvers.chats.sla import NODE_RESOLVERS as SLA_NODE_RESOLVERS
from resolvers.contact_center.crm import NODE_RESOLVERS as CRM_NODE_RESOLVERS
from resolvers.errors import id_argument, not_an_id, top_level, unauthenticated_on_top as _call, viewer_of as _viewer
from resolvers.ids import parse_global_id
from resolvers.messaging.messaging import NODE_RESOLVERS as MESSAGING_NODE_RESOLVERS
from resolvers.prefetch import CHAT_COLUMNS, last_message_columns, prime_relations, wanted_columns, wanted_relations
from resolvers.contact_center.sales import NODE_RESOLVERS as SALES_NODE_RESOLVERS
from services.chats import open_channels
from services.chats import operators
from services.chats import reads
from services.chats import visitors
from services.chats import widget_settings as widget
from services.policies import clients as client_policy, messages as message_policy
from services.common.errors import DomainError, NotFound, Unauthenticated
from services.identity.viewer import Viewer, require_signed_in


async def me(info: Info) -> models.Operator:
    return await _call(operators.get_me(_viewer(info)))


async def operators_list(info: Info) -> list[models.Operator]:
    return await _call(operators.list_operators(_viewer(info)))


async def open_channels_list(info: Info) -> list[models.OpenChannel]:
    return await _call(open_channels.list_open_channels(_viewer(info)))


async def widget_settings(info: Info, open_channel_id: strawberry.ID) -> widget.WidgetSettings | None:
    pk = id_argument(open_channel_id, "OpenChannel", "openChannelId")
    return await _call(widget.widget_settings(_viewer(info), open_channel_id=pk))


async def chat(info: Info, id: strawberry.ID) -> models.Chat | None:
    viewer = _viewer(info)
    return await _call(reads.visible_chat_or_none(viewer, id_argument(id, "Chat")))


async def my_chats(info: Info) -> Any:
    """The sidebar's groups, with the relations the selection asks of their chats (read in the
    same statement: `groups.relations`)."""
    paths = ("offered",), ("waitingFirstResponse",), ("active",), ("internal",)
    groups = await _call(reads.my_chats(
        _viewer(info), relations=wanted_relations(info, *paths), chat_columns=wanted_columns(info, CHAT_COLUMNS, *paths),
        relation_columns=last_message_columns(info, *paths)))
    prime_relations(info, groups.relations)
    return groups


async def visitor_chat(info: Info) -> models.Chat | None:
    return await _call(visitors.visitor_chat(_viewer(info)))


async def node(info: Info, id: strawberry.ID) -> tuple[str, Any] | None:
    """Any object by its global ID — authorised like every other path to it: (its type name, the
    object), or None."""
    viewer = _viewer(info)
    try:  # without a token: UNAUTHENTICATED whatever the type (not null for some types only)
        require_signed_in(viewer)
    except Unauthenticated as error:
        raise top_level(error)
    parsed = parse_global_id(id)
    if parsed is None or parsed[0] not in _NODE_RESOLVERS:
        raise not_an_id()
    type_name, pk = parsed
    try:
        found = await _NODE_RESOLVERS[type_name](info, viewer, pk)
    except NotFound:
        return None
    except Unauthenticated as error:
        raise top_level(error)
    except DomainError:
        return None
    return (type_name, found) if found is not None else None


async def _node_chat(info: Info, viewer: Viewer, pk: int) -> models.Chat | None:
    return await reads.visible_chat_or_none(viewer, pk)


async def _node_message(info: Info, viewer: Viewer, pk: int) -> models.Message | None:
    message = await info.context.loaders.message.load(pk)
    return message if await message_policy.can_read(viewer, message) else None


async def _node_operator(info: Info, viewer: Viewer, pk: int) -> models.Operator | None:
    return await operators.readable_operator(viewer, pk)


async def _node_open_channel(info: Info, viewer: Viewer, pk: int) -> models.OpenChannel | None:
    return await open_channels.get_open_channel(viewer, pk)


async def _node_client(info: Info, viewer: Viewer, pk: int) -> models.Client | None:
    """A client is visible to whoever may see one of their chats."""
    if not await client_policy.can_read(viewer, pk):
        return None
    return await info.context.loaders.client.load(pk)


#: type name -> the object of that type with this pk, as far as the viewer may see it (None: not)
_NODE_RESOLVERS = {
    "Chat": _node_chat,
    "Message": _node_message,
    "Operator": _node_operator,
    "OpenChannel": _node_open_channel,
    "Client": _node_client,
    **CRM_NODE_RESOLVERS,
    **SALES_NODE_RESOLVERS,
    **MESSAGING_NODE_RESOLVERS,
    **LABEL_NODE_RESOLVERS,
    **SLA_NODE_RESOLVERS,
    **WEBHOOK_NODE_RESOLVERS,
}
