"""Who may see a client, and who may change their attributes.

- A client is seen by whoever may see one of their chats (services/policies/chats.py);
  supervisors list every client (services/contact_center/conversations.py).
- Their attributes (plan = gold) are for operators only, as far as they may see the client.
- The attributes are set by whoever may write in one of the client's chats (its responsible, its
  participants: `chats.writable`); supervisors and admins, for any client.
- Erasing a client's personal data (GDPR) and exporting everything stored about them: admins
  only. Anyone else is refused before the client is looked up (FORBIDDEN whether or not it
  exists); an admin naming an unknown client gets NOT_FOUND.
"""
from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models import Chat, Client, ClientAttribute
from services.common.errors import Forbidden, NotFound
from services.identity.viewer import Viewer, require_operator
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


def _require_admin(viewer: Viewer) -> int:
    """UNAUTHENTICATED without a token, FORBIDDEN for a visitor or an operator who is not an admin."""
    me = require_operator(viewer)
    if not viewer.is_admin:
        raise Forbidden("Only an admin can erase or export a client's personal data.", field=["input", "clientId"])
    return me


async def ensure_may_erase(viewer: Viewer, client_id: int, using: BaseDBAsyncClient) -> Client:
    """The client, locked for the erasure (two erasures at once run one after the other), if the
    viewer is an admin."""
    _require_admin(viewer)
    client = await Client.filter(id=client_id).using_db(using).select_for_update().first()
    if client is None:
        raise NotFound("No such client.", field=["input", "clientId"])
    return client


async def ensure_may_export(viewer: Viewer, client_id: int) -> Client:
    """The client, if the viewer is an admin (the export of everything stored about them)."""
    _require_admin(viewer)
    client = await Client.get_or_none(id=client_id)
    if client is None:
        raise NotFound("No such client.", field=["clientId"])
    return client


def everything_of(viewer: Viewer, client_id: int) -> tuple[QuerySet[Chat], QuerySet[ClientAttribute]]:
    """Every chat of the client, and their attributes, for an admin (erasure and export: the caller
    has passed `ensure_may_erase` / `ensure_may_export`)."""
    _require_admin(viewer)
    return visible_chats(viewer).filter(client_id=client_id), ClientAttribute.filter(client_id=client_id)
