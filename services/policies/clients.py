"""Who may see a client, and who may change their attributes.

- A client is seen by whoever may see one of their chats (services/policies/chats.py);
  supervisors list every client (services/contact_center/conversations.py).
- Their attributes (plan = gold) are for operators only, as far as they may see the client.
- The attributes are set by whoever may write in one of the client's chats (its responsible, its
  participants: `chats.writable`); supervisors and admins, for any client.
"""
from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models import Chat, Client, ClientAttribute
from services.common.errors import Forbidden, NotFound
from services.identity.viewer import Viewer
from services.policies.chats import visible_chats, writable
from services.policies.conditions import apply


async def can_read(viewer: Viewer, client_id: int, using: BaseDBAsyncClient | None = None) -> bool:
    """Through one of their chats (a supervisor's listing of every client: services/contact_center/conversations.py)."""
    return await visible_chats(viewer).filter(client_id=client_id).using_db(using).exists()


def attributes_of(viewer: Viewer, client_ids: list[int]) -> QuerySet[ClientAttribute]:
    """The attributes of these clients the viewer may see (none for a visitor)."""
    if not viewer.is_operator:
        return ClientAttribute.filter(id__in=[])
    query = ClientAttribute.filter(client_id__in=client_ids)
    if viewer.is_supervisor:
        return query
    return query.filter(client_id__in=Subquery(visible_chats(viewer).values("client_id")))


async def ensure_may_write(viewer: Viewer, client_id: int, using: BaseDBAsyncClient) -> Client:
    """The client, locked, if the viewer may change their attributes; NOT_FOUND for a client they
    may not see, FORBIDDEN for one they see but write to in none of their chats."""
    condition = writable(viewer)  # FORBIDDEN for a visitor token
    client = await Client.filter(id=client_id).using_db(using).select_for_update().first()
    if client is None:
        raise NotFound("No such client.", field=["input", "clientId"])
    if viewer.is_supervisor or await apply(Chat.filter(client_id=client_id), condition).using_db(using).exists():
        return client
    if await can_read(viewer, client_id, using):
        raise Forbidden("Only an operator of one of the client's chats or a supervisor can change their attributes.",
                        field=["input", "clientId"])
    raise NotFound("No such client.", field=["input", "clientId"])
