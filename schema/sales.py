"""Sales in the chat: the types Chat.orders returns (ordering itself arrives with the sales release)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.common import Node
from schema.enums import OrderStatus

if TYPE_CHECKING:
    from schema.chat import Chat


@strawberry.type
class Product(Node):
    id: strawberry.ID
    name: str
    price: float
    currency: str


@strawberry.type
class OrderItem:
    product: Product
    quantity: int
    amount: float


@strawberry.type
class Order(Node):
    id: strawberry.ID
    chat: Annotated["Chat", strawberry.lazy("schema.chat")]
    items: list[OrderItem]
    total: float
    currency: str
    status: OrderStatus
    payment_url: str
    created_at: datetime
