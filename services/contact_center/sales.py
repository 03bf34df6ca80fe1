"""Sales in the chat: the product catalog, orders placed in a chat, and the payment webhook.

Money is exact: prices, line amounts and totals are `Decimal` with two places, computed here on
the server (never taken from the client), and stored as decimals.

The payment provider calls `POST /payments/webhook` with a JSON body `{"orderId": 42,
"status": "PAID"}` and the header `X-Signature: sha256=<hex HMAC-SHA256 of the raw body with
PAYMENT_WEBHOOK_SECRET>`. A missing or bad signature changes nothing. PAID moves the order from
CREATED to PAID with one conditional UPDATE: a repeated notification finds it PAID already and
changes nothing (no second message), and is answered 200 like the first, also when it arrives
while the first is still being applied (the order is read after the UPDATE, which waits for it).

Who sees and places orders: services/policies/orders.py; the catalog: services/policies/products.py.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from models import Chat, ChatStatus, Message, MessageAuthorKind, Order, OrderItem, Product
from services.chats import queue
from services.policies.chats import ensure, operator_chat
from services.chats.audience import audience
from services.policies import orders as order_policy, products as product_policy
from services.chats.chats import audience
from services.common.errors import Forbidden, InvalidInput, InvalidState, NotFound, Unauthenticated
from services.events.events import unit_of_work
from services.common.numerals import MAX_PK, checked_number
from services.identity.viewer import Viewer
from services.common.text_input import SEARCH_LENGTH, check_text, text_input

CENT = Decimal("0.01")
MAX_QUANTITY = 10_000
MAX_ITEMS = 100
SIGNATURE_HEADER = "x-signature"


def money(value: float | str | Decimal, field: list[str]) -> Decimal:
    """An amount with at most two decimals, not negative."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput("Not an amount.", field=field)
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        raise InvalidInput("The amount must be zero or more, with at most two decimals.", field=field)
    return amount.quantize(CENT)


def list_products(viewer: Viewer, *, search: str | None = None):
    query = product_policy.catalog(viewer)
    if search:
        check_text(search, ["search"], SEARCH_LENGTH)
    if search and search.strip():
        query = query.filter(name__icontains=search.strip())
    return query.order_by("name", "id")


@text_input()
async def create_product(viewer: Viewer, *, name: str, price: float, currency: str) -> Product:
    product_policy.ensure_may_manage(viewer)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("The name must have 1 to 200 characters.", field=["input", "name"])
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput("The currency is a three-letter ISO 4217 code, e.g. EUR.", field=["input", "currency"])
    return await Product.create(name=name, price=money(price, ["input", "price"]), currency=currency)


@dataclass(frozen=True)
class OrderLine:
    product_id: int
    quantity: int


def payment_url(template: str, order: Order) -> str:
    """The link the client pays with: PAYMENT_URL_TEMPLATE with {order_id}, {amount}, {currency}."""
    return template.format(order_id=order.id, amount=f"{order.total:.2f}", currency=order.currency)


def order_summary(order: Order, items: list[tuple[Product, OrderItem]]) -> str:
    lines = [f"Order #{order.id}:"]
    lines += [f"- {product.name} x {item.quantity}: {item.amount:.2f} {order.currency}" for product, item in items]
    lines.append(f"Total: {order.total:.2f} {order.currency}")
    lines.append(f"Pay here: {order.payment_url}")
    return "\n".join(lines)


async def create_chat_order(
    viewer: Viewer, *, chat_id: int, lines: list[OrderLine], payment_url_template: str
) -> Order:
    """An order of catalog items in an answered chat, its total computed here, and a message to the
    client with the summary and the payment link."""
    if not lines:
        raise InvalidInput("An order needs at least one item.", field=["input", "items"])
    if len(lines) > MAX_ITEMS:
        raise InvalidInput(f"An order has at most {MAX_ITEMS} items.", field=["input", "items"])
    for line in lines:
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidInput(f"A quantity is between 1 and {MAX_QUANTITY}.", field=["input", "items"])
    async with unit_of_work(viewer) as uow:
        chat, roles = await operator_chat(viewer, chat_id, uow.tx)
        order_policy.ensure_may_place(roles)
        if chat.status != ChatStatus.ACTIVE:
            raise InvalidState("Orders are placed in an answered (ACTIVE) chat.", field=["input", "chatId"])
        products = {p.id: p for p in await product_policy.catalog(viewer).filter(
            id__in=[line.product_id for line in lines]).using_db(uow.tx)}
        if len(products) != len({line.product_id for line in lines}):
            raise NotFound("No such product.", field=["input", "items"])
        currencies = {products[line.product_id].currency for line in lines}
        if len(currencies) > 1:
            raise InvalidInput("All items of an order must be in one currency.", field=["input", "items"])
        amounts = [(products[line.product_id].price * line.quantity).quantize(CENT, ROUND_HALF_UP) for line in lines]
        order = await Order.create(using_db=uow.tx, chat_id=chat.id, created_by_id=viewer.operator_id,
                                   total=sum(amounts, Decimal("0.00")), currency=currencies.pop(), payment_url="")
        order.payment_url = payment_url(payment_url_template, order)
        await Order.filter(id=order.id).using_db(uow.tx).update(payment_url=order.payment_url)
        items = []
        for line, amount in zip(lines, amounts):
            product = products[line.product_id]
            items.append((product, await OrderItem.create(
                using_db=uow.tx, order_id=order.id, product_id=product.id, quantity=line.quantity,
                unit_price=product.price, amount=amount,
            )))
        message = await Message.create(using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.SYSTEM,
                                       author_id=viewer.operator_id, text=order_summary(order, items))
        await Chat.filter(id=chat.id).using_db(uow.tx).update(last_activity_at=queue.now())
        uow.record("MESSAGE_ADDED", chat=chat, chat_kind="MESSAGE_ADDED", message_id=message.id,
                   operator_ids=await audience(uow, chat))
    return order


def sign(body: bytes, secret: str) -> str:
    """The X-Signature header value of a webhook body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def handle_payment_notification(*, body: bytes, signature: str | None, secret: str) -> Order:
    """Apply a signed notification of the payment provider (see the module's docstring)."""
    if not secret:
        raise Forbidden("Payment notifications are refused: PAYMENT_WEBHOOK_SECRET is not configured.")
    if not signature or not hmac.compare_digest(sign(body, secret), signature.strip()):
        raise Unauthenticated("Bad or missing signature.")
    try:
        data = json.loads(body)
        order_id, status = checked_number(data["orderId"], maximum=MAX_PK), str(data["status"])
        if not order_id:
            raise ValueError("not an order id")
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("The body must be JSON {\"orderId\": <int>, \"status\": \"PAID\"}.")
    if status != "PAID":
        raise InvalidInput(f"Unsupported status {status!r}.")
    async with unit_of_work() as uow:
        won = await Order.filter(id=order_id, status="CREATED").using_db(uow.tx).update(status="PAID",
                                                                                        paid_at=queue.now())
        # read after the UPDATE: a repeat that waited for a concurrent one's commit sees it PAID
        order = await Order.get_or_none(id=order_id, using_db=uow.tx)
        if order is None:
            raise NotFound("No such order.")
        if won:
            chat = await Chat.get(id=order.chat_id, using_db=uow.tx)
            message = await Message.create(
                using_db=uow.tx, chat_id=chat.id, author_kind=MessageAuthorKind.SYSTEM,
                text=f"Order #{order.id} is paid: {order.total:.2f} {order.currency}. Thank you!",
            )
            uow.record("MESSAGE_ADDED", chat=chat, chat_kind="MESSAGE_ADDED", message_id=message.id,
                       operator_ids=await audience(uow, chat))
        elif order.status != "PAID":
            raise InvalidState(f"The order is {order.status}.")
    return order


# --------------------------------------------------------------------------- reads (batched)


async def orders_of_chats(viewer: Viewer, chat_ids: list[int]) -> dict[int, list[Order]]:
    grouped: dict[int, list[Order]] = {i: [] for i in chat_ids}
    for order in await order_policy.of_chats(viewer, chat_ids).order_by("id"):
        grouped[order.chat_id].append(order)
    return grouped


async def items_of_orders(viewer: Viewer, order_ids: list[int]) -> dict[int, list[OrderItem]]:
    grouped: dict[int, list[OrderItem]] = {i: [] for i in order_ids}
    for item in await order_policy.items_of(viewer, order_ids).order_by("id"):
        grouped[item.order_id].append(item)
    return grouped


async def products_by_id(viewer: Viewer, ids: list[int]) -> dict[int, Product]:
    return {p.id: p for p in await product_policy.named_products(viewer, ids)}


async def readable_product(viewer: Viewer, product_id: int) -> Product | None:
    """`node(id:)` of a product."""
    product = await Product.get_or_none(id=product_id)
    return product if product_policy.can_read(viewer, product) else None


async def readable_order(viewer: Viewer, order_id: int) -> Order | None:
    """`node(id:)` of an order: whoever may see its chat."""
    order = await Order.get_or_none(id=order_id)
    return order if await order_policy.can_read(viewer, order) else None
