"""The contact center over real HTTP against a migrated database: a client's history found by a
word, the conversations list, an order in the chat paid through the signed webhook."""
from __future__ import annotations

import json

from services.contact_center.sales import sign
from tests.e2e.actors import Admin, start_visitor_chat, unique
from tests.e2e.server import PAYMENT_WEBHOOK_SECRET

SEARCH = """query($q: String!) { searchMessages(query: $q, first: 10) {
  totalCount edges { node { text chat { id client { name } } } } } }"""
LIST = """query($f: ConversationFilter) { conversations(filter: $f, first: 100) {
  totalCount edges { node { id status client { name } lastMessage { text } } } } }"""


async def test_search_the_list_and_a_paid_order_on_a_real_server(admin: Admin, http, http_client, deployment):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator], distribution="ALL")
    name = unique("Carla")
    word = unique("zebrablender").replace("-", "")
    visitor = await start_visitor_chat(http, channel_id, text=f"My {word} arrived broken", name=name)
    await operator.answer(visitor.chat_id)

    found = (await operator.data(SEARCH, q=word))["searchMessages"]
    assert found["totalCount"] == 1 and found["edges"][0]["node"]["chat"]["client"]["name"] == name
    listed = (await operator.data(LIST, f={"search": word}))["conversations"]
    assert [e["node"]["id"] for e in listed["edges"]] == [visitor.chat_id]
    assert (await visitor.call(SEARCH, q=word))["data"]["searchMessages"]["totalCount"] == 1

    product = (await admin.mutate("createProduct", "product { id }", {"name": unique("Blender"), "price": 19.99,
                                                                         "currency": "EUR"}, "CreateProductInput"))
    order = (await operator.mutate(
        "createChatOrder", "order { id total status paymentUrl }",
        {"chatId": visitor.chat_id, "items": [{"productId": product["product"]["id"], "quantity": 3}]},
        "CreateChatOrderInput"))["order"]
    assert order["total"] == 59.97 and order["status"] == "CREATED"
    order_pk = int(order["paymentUrl"].split("order=")[1].split("&")[0])

    url = f"{deployment.server.base_url}/payments/webhook"
    body = json.dumps({"orderId": order_pk, "status": "PAID"}).encode()
    forged = await http_client.post(url, content=body, headers={"X-Signature": sign(body, "guess")})
    assert forged.status_code == 401
    for _ in range(2):  # the provider may repeat a notification
        paid = await http_client.post(url, content=body, headers={"X-Signature": sign(body, PAYMENT_WEBHOOK_SECRET)})
        assert paid.status_code == 200 and paid.json()["status"] == "PAID"
    seen = await visitor.data("{ visitorChat { orders { status } messages(last: 5) { edges { node { text } } } } }")
    assert seen["visitorChat"]["orders"] == [{"status": "PAID"}]
    paid_messages = [e["node"]["text"] for e in seen["visitorChat"]["messages"]["edges"]
                     if "is paid" in e["node"]["text"]]
    assert paid_messages == [f"Order #{order_pk} is paid: 59.97 EUR. Thank you!"]
