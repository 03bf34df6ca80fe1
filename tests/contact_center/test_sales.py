"""Sales in the chat: the catalog, an order with an exact total and a payment link, the signed webhook."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from models import Message, MessageAuthorKind, Order, QueueDistribution
from openchannels.payments import payments_webhook
from resolvers.ids import to_global_id
from services.chats import chats
from services.contact_center import sales
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute, execute_raw

SECRET = "whsec-test-3f9a"

CREATE_PRODUCT = """mutation($input: CreateProductInput!) { createProduct(input: $input) {
  product { id name price currency } userErrors { code field } } }"""

ORDER = """mutation($input: CreateChatOrderInput!) { createChatOrder(input: $input) {
  order { id total currency status paymentUrl chat { id } items { product { name } quantity amount } }
  userErrors { code field message }
} }"""


@pytest.fixture
async def shop(db, monkeypatch):
    monkeypatch.setenv("PAYMENT_URL_TEMPLATE", "https://pay.test/o/{order_id}?sum={amount}&cur={currency}")
    _, admin = await make_admin()
    ann, ann_v = await make_operator("Ann")
    channel = await make_open_channel([ann], distribution=QueueDistribution.STRICT)
    chat, visitor, _ = await start_chat(channel, "I'd like to buy", name="Carla")
    await chats.answer_chat(ann_v, chat_id=chat.id)
    ids = {}
    for name, price in (("Straw", 0.10), ("Blender", 19.99), ("Dollar mug", 12.00)):
        data = await execute(CREATE_PRODUCT, admin, input={"name": name, "price": price,
                                                             "currency": "usd" if name == "Dollar mug" else "EUR"})
        assert data["createProduct"]["userErrors"] == []
        ids[name] = data["createProduct"]["product"]["id"]
    return {"admin": admin, "ann": ann_v, "chat": chat, "visitor": visitor, "products": ids}


async def test_only_an_admin_adds_products_and_prices_are_exact_cents(shop):
    refused = await execute(CREATE_PRODUCT, shop["ann"], input={"name": "X", "price": 1.0, "currency": "EUR"})
    assert refused["createProduct"]["userErrors"] == [{"code": "FORBIDDEN", "field": None}]
    bad = await execute(CREATE_PRODUCT, shop["admin"], input={"name": "X", "price": 1.005, "currency": "EUR"})
    assert bad["createProduct"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "price"]}]
    bad = await execute(CREATE_PRODUCT, shop["admin"], input={"name": "X", "price": 1.0, "currency": "EURO"})
    assert bad["createProduct"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "currency"]}]
    found = await execute('{ products(search: "blend") { name price currency } }', shop["ann"])
    assert found["products"] == [{"name": "Blender", "price": 19.99, "currency": "EUR"}]
    assert [p["name"] for p in (await execute("{ products { name } }", shop["ann"]))["products"]] == \
        ["Blender", "Dollar mug", "Straw"]


async def test_an_order_has_an_exact_total_a_payment_link_and_a_message_to_the_client(shop):
    p = shop["products"]
    data = (await execute(ORDER, shop["ann"], input={"chatId": to_global_id("Chat", shop["chat"].id), "items": [
        {"productId": p["Straw"], "quantity": 3}, {"productId": p["Blender"], "quantity": 2}]}))["createChatOrder"]
    assert data["userErrors"] == []
    order = data["order"]
    assert order["total"] == 40.28 and order["currency"] == "EUR" and order["status"] == "CREATED"
    assert order["items"] == [{"product": {"name": "Straw"}, "quantity": 3, "amount": 0.3},
                              {"product": {"name": "Blender"}, "quantity": 2, "amount": 39.98}]
    pk = (await Order.all().first()).id
    assert str((await Order.get(id=pk)).total) == "40.28"  # exact decimal, not 40.279999...
    assert order["paymentUrl"] == f"https://pay.test/o/{pk}?sum=40.28&cur=EUR"

    seen = await execute("{ visitorChat { orders { id total } messages(last: 1) { edges { node { text } } } } }",
                         shop["visitor"])
    assert seen["visitorChat"]["orders"] == [{"id": order["id"], "total": 40.28}]
    text = seen["visitorChat"]["messages"]["edges"][0]["node"]["text"]
    assert "Blender x 2: 39.98 EUR" in text and "Total: 40.28 EUR" in text and order["paymentUrl"] in text


async def test_an_order_is_refused_for_mixed_currencies_bad_quantities_or_a_stranger(shop):
    p, chat_id = shop["products"], to_global_id("Chat", shop["chat"].id)
    mixed = await execute(ORDER, shop["ann"], input={"chatId": chat_id, "items": [
        {"productId": p["Straw"], "quantity": 1}, {"productId": p["Dollar mug"], "quantity": 1}]})
    assert mixed["createChatOrder"]["userErrors"][0]["code"] == "INVALID_INPUT"
    zero = await execute(ORDER, shop["ann"], input={"chatId": chat_id, "items": [{"productId": p["Straw"],
                                                                                  "quantity": 0}]})
    assert zero["createChatOrder"]["userErrors"][0]["code"] == "INVALID_INPUT"
    _, stranger = await make_operator("Stranger")
    hidden = await execute(ORDER, stranger, input={"chatId": chat_id, "items": [{"productId": p["Straw"],
                                                                                  "quantity": 1}]})
    assert hidden["createChatOrder"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert await Order.all().count() == 0


def _webhook_client(secret: str) -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/payments/webhook", payments_webhook(secret), methods=["POST"])])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _order(shop) -> Order:
    return await sales.create_chat_order(shop["ann"], chat_id=shop["chat"].id, lines=[
        sales.OrderLine(product_id=int(await _pk(shop["products"]["Blender"])), quantity=1)],
        payment_url_template="https://pay.test/{order_id}")


async def _pk(global_id: str) -> int:
    from resolvers.ids import parse_global_id

    return parse_global_id(global_id)[1]


async def _system_messages(chat_id: int) -> list[str]:
    return list(await Message.filter(chat_id=chat_id, author_kind=MessageAuthorKind.SYSTEM).order_by("id")
                .values_list("text", flat=True))


async def test_the_webhook_marks_paid_once_and_refuses_a_bad_signature(shop):
    order = await _order(shop)
    body = json.dumps({"orderId": order.id, "status": "PAID"}).encode()
    before = await _system_messages(shop["chat"].id)
    async with _webhook_client(SECRET) as client:
        forged = await client.post("/payments/webhook", content=body,
                                   headers={"X-Signature": sales.sign(body, "not-the-secret")})
        unsigned = await client.post("/payments/webhook", content=body)
        assert (forged.status_code, unsigned.status_code) == (401, 401)
        assert (await Order.get(id=order.id)).status == "CREATED"
        assert await _system_messages(shop["chat"].id) == before

        paid = await client.post("/payments/webhook", content=body, headers={"X-Signature": sales.sign(body, SECRET)})
        assert paid.status_code == 200 and paid.json() == {"orderId": order.id, "status": "PAID"}
        again = await client.post("/payments/webhook", content=body, headers={"X-Signature": sales.sign(body, SECRET)})
        assert again.status_code == 200 and again.json()["status"] == "PAID"
    assert (await Order.get(id=order.id)).status == "PAID"
    after = await _system_messages(shop["chat"].id)
    assert after[len(before):] == [f"Order #{order.id} is paid: 19.99 EUR. Thank you!"]
    seen = await execute("query($id: ID!) { node(id: $id) { ... on Order { status } } }", shop["visitor"],
                         id=to_global_id("Order", order.id))
    assert seen["node"] == {"status": "PAID"}


@pytest.mark.postgres_only
async def test_repeats_of_a_paid_notification_arriving_at_once_are_all_answered_200(shop):
    """A provider retries a notification it got no answer to yet: the repeats meet the first one in
    the database. Each is answered 200 (the provider alerts on 409) and the order is paid once."""
    order = await _order(shop)
    body = json.dumps({"orderId": order.id, "status": "PAID"}).encode()
    before = await _system_messages(shop["chat"].id)
    async with _webhook_client(SECRET) as client:
        answers = await asyncio.gather(*(client.post("/payments/webhook", content=body,
                                                     headers={"X-Signature": sales.sign(body, SECRET)})
                                         for _ in range(8)))
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"orderId": order.id, "status": "PAID"})] * 8
    after = await _system_messages(shop["chat"].id)
    assert after[len(before):] == [f"Order #{order.id} is paid: 19.99 EUR. Thank you!"]


async def test_without_a_configured_secret_every_notification_is_refused(shop):
    order = await _order(shop)
    body = json.dumps({"orderId": order.id, "status": "PAID"}).encode()
    async with _webhook_client("") as client:
        response = await client.post("/payments/webhook", content=body, headers={"X-Signature": sales.sign(body, "")})
    assert response.status_code == 403 and (await Order.get(id=order.id)).status == "CREATED"


async def test_products_are_for_operators(shop):
    result = await execute_raw("{ products { name } }", shop["visitor"])
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
