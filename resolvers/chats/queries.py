"""Query entry points."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.contact_center.crm import NODE_RESOLVERS as CRM_NODE_RESOLVERS
from resolvers.errors import id_argument, not_an_id, top_level, unauthenticated_on_top as _call, viewer_of as _viewer
from resolvers.messaging.messaging import NODE_RESOLVERS as MESSAGING_NODE_RESOLVERS
from resolvers.prefetch import attach_relations, wanted_relations
from resolvers.contact_center.sales import NODE_RESOLVERS as SALES_NODE_RESOLVERS
from schema.chats.chat import Chat, MyChats
from schema.chats.client import Client
from schema.common import Node
from schema.ids import parse_global_id
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.chats.operator import Me, Operator, OperatorPreferences
from services.chats import open_channels
from services.chats import operators
from services.chats import reads
from services.chats import visitors
from services.policies import clients as client_policy, messages as message_policy
from services.common.errors import DomainError, NotFound, Unauthenticated
from services.identity.viewer import Viewer, require_signed_in


async def me(info: Info) -> Me:
    operator = await _call(operators.get_me(_viewer(info)))
    return Me(operator=Operator.from_model(operator), preferences=OperatorPreferences.from_model(operator))


async def operators_list(info: Info) -> list[Operator]:
    return [Operator.from_model(o) for o in await _call(operators.list_operators(_viewer(info)))]


async def open_channels_list(info: Info) -> list[OpenChannel]:
    return [OpenChannel.from_model(c) for c in await _call(open_channels.list_open_channels(_viewer(info)))]


async def chat(info: Info, id: strawberry.ID) -> Chat | None:
    viewer = _viewer(info)
    found = await _call(reads.visible_chat_or_none(viewer, id_argument(id, "Chat")))
    return Chat.from_model(found) if found else None


async def my_chats(info: Info) -> MyChats:
    paths = ("offered",), ("waitingFirstResponse",), ("active",), ("internal",)
    groups = await _call(reads.my_chats(_viewer(info), relations=wanted_relations(info, *paths)))
    result = MyChats(
        offered=[Chat.from_model(c) for c in groups.offered],
        waiting_first_response=[Chat.from_model(c) for c in groups.waiting_first_response],
        active=[Chat.from_model(c) for c in groups.active],
        internal=[Chat.from_model(c) for c in groups.internal],
    )
    chats = [*result.offered, *result.waiting_first_response, *result.active, *result.internal]
    attach_relations(info, chats, groups.relations)  # read in the same statement
    return result


async def visitor_chat(info: Info) -> Chat | None:
    found = await _call(visitors.visitor_chat(_viewer(info)))
    return Chat.from_model(found) if found else None


async def node(info: Info, id: strawberry.ID) -> Node | None:
    """Any object by its global ID — authorised like every other path to it."""
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
        return await _NODE_RESOLVERS[type_name](info, viewer, pk)
    except NotFound:
        return None
    except Unauthenticated as error:
        raise top_level(error)
    except DomainError:
        return None


async def _node_chat(info: Info, viewer: Viewer, pk: int) -> Chat | None:
    found = await reads.visible_chat_or_none(viewer, pk)
    return Chat.from_model(found) if found else None


async def _node_message(info: Info, viewer: Viewer, pk: int) -> Message | None:
    message = await info.context.loaders.message.load(pk)
    return Message.from_model(message) if await message_policy.can_read(viewer, message) else None


async def _node_operator(info: Info, viewer: Viewer, pk: int) -> Operator | None:
    found = await operators.readable_operator(viewer, pk)
    return Operator.from_model(found) if found else None


async def _node_open_channel(info: Info, viewer: Viewer, pk: int) -> OpenChannel | None:
    return OpenChannel.from_model(await open_channels.get_open_channel(viewer, pk))


async def _node_client(info: Info, viewer: Viewer, pk: int) -> Client | None:
    """A client is visible to whoever may see one of their chats."""
    if not await client_policy.can_read(viewer, pk):
        return None
    client = await info.context.loaders.client.load(pk)
    return Client.from_model(client) if client else None


_NODE_RESOLVERS = {
    "Chat": _node_chat,
    "Message": _node_message,
    "Operator": _node_operator,
    "OpenChannel": _node_open_channel,
    "Client": _node_client,
    **CRM_NODE_RESOLVERS,
    **SALES_NODE_RESOLVERS,
    **MESSAGING_NODE_RESOLVERS,
}
