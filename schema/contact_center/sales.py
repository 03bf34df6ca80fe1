"""Sales in the chat: products, orders and their items (amounts exact on the server, Float here)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

import models
from schema.common import Node, UserError, build
from schema.enums import OrderStatus
from resolvers.chats import relations as rc
from resolvers.contact_center import relations as r
from resolvers.ids import to_global_id

if TYPE_CHECKING:
    from schema.chats.chat import Chat







@strawberry.type(description="An item of the sales catalog.")
class Product(Node):
    id: strawberry.ID
    name: str
    price: float
    currency: str = strawberry.field(description="ISO 4217 code, e.g. EUR.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, product: models.Product) -> "Product":
        return cls(id=strawberry.ID(to_global_id("Product", product.id)), pk=product.id, name=product.name,
                   price=float(product.price), currency=product.currency)


@strawberry.type
class OrderItem:
    product_pk: strawberry.Private[int]
    quantity: int
    amount: float = strawberry.field(description="Price when ordered times quantity.")

    @strawberry.field
    async def product(self, info: Info) -> Product:
        return Product.from_model(await r.product(info, self.product_pk))


@strawberry.type(description="An order placed in a chat; the client pays it through `paymentUrl`.")
class Order(Node):
    id: strawberry.ID
    total: float = strawberry.field(description="Sum of the item amounts, computed on the server in exact decimals.")
    currency: str
    status: OrderStatus
    created_at: datetime
    pk: strawberry.Private[int]
    chat_pk: strawberry.Private[int]
    payment_link: strawberry.Private[str]

    @strawberry.field(description="Where the client pays (PAYMENT_URL_TEMPLATE; a path on this server is made "
                                  "absolute like every URL the API returns).")
    def payment_url(self, info: Info) -> str:
        return info.context.absolute_url(self.payment_link)

    @strawberry.field
    async def chat(self, info: Info) -> Annotated["Chat", strawberry.lazy("schema.chats.chat")]:
        chat = await rc.chat(info, self.chat_pk)
        assert chat is not None  # the foreign key cascades: an order's chat exists
        return build("Chat", chat)

    @strawberry.field
    async def items(self, info: Info) -> list[OrderItem]:
        return [OrderItem(product_pk=i.product_id, quantity=i.quantity, amount=float(i.amount))
                for i in await r.items_of_order(info, self.pk)]

    @classmethod
    def from_model(cls, order: models.Order) -> "Order":
        return cls(id=strawberry.ID(to_global_id("Order", order.id)), pk=order.id, chat_pk=order.chat_id,
                   total=float(order.total), currency=order.currency, status=OrderStatus(order.status),
                   payment_link=order.payment_url, created_at=order.created_at)


async def orders_of_chat(info: Info, chat_pk: int) -> list[Order]:
    return [Order.from_model(o) for o in await r.orders_of_chat(info, chat_pk)]


@strawberry.input
class OrderItemInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class CreateChatOrderInput:
    chat_id: strawberry.ID
    items: list[OrderItemInput]


@strawberry.input
class CreateProductInput:
    name: str
    price: float = strawberry.field(description="At most two decimals.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. EUR.")


@strawberry.type
class OrderPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class ProductPayload:
    product: Product | None
    user_errors: list[UserError]
