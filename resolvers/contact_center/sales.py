"""Entry points of sales in the chat: products, createProduct, createChatOrder, and node(id:)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from strawberry.types import Info

import models
from infrastructure.settings import Settings
from resolvers.errors import Outcome, outcome, unauthenticated_on_top as _call, viewer_of as _viewer
from resolvers.ids import decode_id
from services.contact_center import sales
from services.identity.viewer import Viewer

if TYPE_CHECKING:
    from schema.contact_center.sales import CreateChatOrderInput, CreateProductInput


async def products(info: Info, search: str | None = None) -> list[models.Product]:
    async def run():
        return await sales.list_products(_viewer(info), search=search)

    return await _call(run())


async def create_product(info: Info, input: CreateProductInput) -> Outcome[models.Product]:
    async def run():
        return await sales.create_product(_viewer(info), name=input.name, price=input.price, currency=input.currency)

    return await outcome(run())


async def create_chat_order(info: Info, input: CreateChatOrderInput) -> Outcome[models.Order]:
    async def run():
        lines = [sales.OrderLine(product_id=decode_id(i.product_id, "Product", ["input", "items"]), quantity=i.quantity)
                 for i in input.items]
        return await sales.create_chat_order(
            _viewer(info), chat_id=decode_id(input.chat_id, "Chat", ["input", "chatId"]), lines=lines,
            payment_url_template=Settings().payment_url_template,
        )

    return await outcome(run())


async def _node_product(info: Info, viewer: Viewer, pk: int) -> models.Product | None:
    return await sales.readable_product(viewer, pk)


async def _node_order(info: Info, viewer: Viewer, pk: int) -> models.Order | None:
    return await sales.readable_order(viewer, pk)


#: node(id:) resolvers of the sales types (an order: whoever may see its chat)
NODE_RESOLVERS = {"Product": _node_product, "Order": _node_order}
