"""Who may see and place orders: an order is seen by whoever may see its chat
(services/policies/chats.py), its items with it; only the chat's operators (its responsible, its
participants, supervisors and admins) place one in it."""
from __future__ import annotations

from collections.abc import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from models import Chat, Order, OrderItem
from services.identity.viewer import Viewer
from services.policies import chats
from services.policies.conditions import Condition, apply, within


def readable(viewer: Viewer) -> Condition:
    """The orders of the chats the viewer may see."""
    return within("chat_id", Chat, chats.readable(viewer))


def of_chats(viewer: Viewer, chat_ids: Iterable[int]) -> QuerySet[Order]:
    return apply(Order.filter(chat_id__in=list(chat_ids)), readable(viewer))


def items_of(viewer: Viewer, order_ids: Iterable[int]) -> QuerySet[OrderItem]:
    """The items of these orders, as far as the viewer may see the orders."""
    return apply(OrderItem.filter(order_id__in=list(order_ids)), within("order_id", Order, readable(viewer)))


async def can_read(viewer: Viewer, order: Order | None, using: BaseDBAsyncClient | None = None) -> bool:
    return order is not None and not viewer.is_anonymous and await chats.can_read(viewer, order.chat_id, using)


def ensure_may_place(roles: chats.ChatRoles) -> None:
    """Placing an order in a chat: its operators (the caller's roles in it)."""
    chats.ensure(roles.can_write, "Only the chat's operators can place an order in it.")
