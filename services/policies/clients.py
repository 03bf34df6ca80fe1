"""Who may see a client: whoever may see one of their chats (services/policies/chats.py)."""
from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from services.identity.viewer import Viewer
from services.policies.chats import visible_chats


async def can_read(viewer: Viewer, client_id: int, using: BaseDBAsyncClient | None = None) -> bool:
    """Through one of their chats (a supervisor's listing of every client: services/contact_center/conversations.py)."""
    return await visible_chats(viewer).filter(client_id=client_id).using_db(using).exists()
