"""Entry points of sales in the chat: products, createProduct, createChatOrder, and node(id:)."""
from __future__ import annotations

from strawberry.types import Info

from infrastructure.settings import Settings
from resolvers.errors import payload, unauthenticated_on_top as _call, viewer_of as _viewer
from schema.ids import decode_id
from schema.contact_center.sales import CreateChatOrderInput, CreateProductInput, Order, OrderPayload, Product, ProductPayload
from services.contact_center import sales
from services.identity.viewer import Viewer


async def products(info: Info, search: str | None = None) -> list[Product]:
    async def run():
        return [Product.from_model(p) for p in await sales.list_products(_viewer(info), search=search)]

    return await _call(run())


async def create_product(info: Info, input: CreateProductInput) -> ProductPayload:
    async def run():
        return await sales.create_product(_viewer(info), name=input.name, price=input.price, currency=input.currency)

    return await payload(ProductPayload, "product", run(), Product.from_model)


async def create_chat_order(info: Info, input: CreateChatOrderInput) -> OrderPayload:
    async def run():
        lines = [sales.OrderLine(product_id=decode_id(i.product_id, "Product", ["input", "items"]), quantity=i.quantity)
                 for i in input.items]
        return await sales.create_chat_order(
            _viewer(info), chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]), lines=lines,
            payment_url_template=Settings().payment_url_template,
        )

    return await payload(OrderPayload, "order", run(), Order.from_model)


async def _node_product(info: Info, viewer: Viewer, pk: int) -> Product | None:
    product = await sales.readable_product(viewer, pk)
    return Product.from_model(product) if product else None


async def _node_order(info: Info, viewer: Viewer, pk: int) -> Order | None:
    order = await sales.readable_order(viewer, pk)
    return Order.from_model(order) if order else None


#: node(id:) resolvers of the sales types (an order: whoever may see its chat)
NODE_RESOLVERS = {"Product": _node_product, "Order": _node_order}
