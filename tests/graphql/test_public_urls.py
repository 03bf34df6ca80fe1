"""Every URL the API returns is absolute: a client on another origin cannot use `/files/1`.

The base is PUBLIC_URL, or the request's own scheme and Host, or behind TRUSTED_PROXY_HOPS the
trusted proxy's X-Forwarded-Proto and X-Forwarded-Host (openchannels/public_url.py). Over HTTP
through the real application (ASGI), so the request's address reaches the resolvers as it would.
"""
from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from models import Product
from openchannels.app import create_app
from openchannels.public_url import check_public_url, public_base
from infrastructure.settings import Settings
from services.identity import auth
from services.automation import connectors
from infrastructure.platform import Platform
from services.messaging import files
from services.messaging import messages
from services.contact_center import sales
from tests.factories import make_admin, make_open_channel
from tests.messaging.worlds import answered_chat, gid

ATTACHMENT = "query($id: ID!) { node(id: $id) { ... on Attachment { url } } }"
VISITOR_ATTACHMENTS = "{ visitorChat { lastMessage { attachments { url } } } }"
ORDER = "query($id: ID!) { node(id: $id) { ... on Order { paymentUrl } } }"


@pytest.fixture
def storage(platform: Platform) -> Platform:
    """The test's platform: what the apps below serve files from."""
    return platform


async def _sent_file(platform: Platform):
    w = await answered_chat()
    uploaded = await files.upload_file(w.me, platform.files, chat_id=w.chat.id, name="a.txt", data=b"hello")
    await messages.send_message(w.me, chat_id=w.chat.id, text="file", attachment_ids=[uploaded.id])
    return w, uploaded, await auth.issue_token(w.operator.id)


async def _post(settings: Settings, platform: Platform, query: str, token: str, headers: dict[str, str] | None = None,
                base_url: str = "http://test", **variables) -> dict:
    transport = httpx.ASGITransport(app=create_app(settings, platform))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        answer = await client.post("/graphql", json={"query": query, "variables": variables},
                                   headers={"Authorization": f"Bearer {token}", **(headers or {})})
    body = answer.json()
    assert answer.status_code == 200 and "errors" not in body, body
    return body["data"]


async def test_attachment_urls_are_built_on_public_url(db, storage):
    w, uploaded, token = await _sent_file(storage)
    settings = Settings(public_url="https://chat.example.com", trusted_proxy_hops=1)
    # PUBLIC_URL wins over the Host the request came with, and over what a proxy says
    operator = await _post(settings, storage, ATTACHMENT, token, {"X-Forwarded-Host": "evil.test"},
                           base_url="http://10.0.0.7:8000", id=gid("Attachment", uploaded.id))
    assert operator["node"]["url"] == f"https://chat.example.com/files/{uploaded.id}"
    # a visitor's signed link too, and it still downloads
    visitor_url = (await _post(settings, storage, VISITOR_ATTACHMENTS, w.visitor_token))[
        "visitorChat"]["lastMessage"]["attachments"][0]["url"]
    assert visitor_url.startswith(f"https://chat.example.com/files/{uploaded.id}?expires=")
    transport = httpx.ASGITransport(app=create_app(settings, storage))
    async with httpx.AsyncClient(transport=transport) as client:
        downloaded = await client.get(visitor_url)
    assert downloaded.status_code == 200 and downloaded.content == b"hello"


async def test_without_public_url_the_base_is_the_requests_own_address(db, storage):
    w, uploaded, token = await _sent_file(storage)
    attachment = gid("Attachment", uploaded.id)
    direct = Settings(public_url="", trusted_proxy_hops=0)
    assert (await _post(direct, storage, ATTACHMENT, token, base_url="http://chat.internal:8080", id=attachment)
            )["node"]["url"] == f"http://chat.internal:8080/files/{uploaded.id}"
    # no trusted proxy: X-Forwarded-* are the client's words, ignored
    ignored = await _post(direct, storage, ATTACHMENT, token, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.test"},
                          base_url="http://chat.internal:8080", id=attachment)
    assert ignored["node"]["url"] == f"http://chat.internal:8080/files/{uploaded.id}"
    # one trusted proxy: the address it was reached at, from the value it appended (the left one is the client's)
    proxied = Settings(public_url="", trusted_proxy_hops=1)
    behind = await _post(proxied, storage, ATTACHMENT, token,
                         {"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "evil.test, chat.example.com"},
                         base_url="http://10.0.0.7:8000", id=attachment)
    assert behind["node"]["url"] == f"https://chat.example.com/files/{uploaded.id}"
    # a Host that is not a host name is not echoed: the address the server was reached at instead
    odd = await _post(direct, storage, ATTACHMENT, token, {"Host": "evil.test/phish?"}, base_url="http://10.0.0.7:8000",
                      id=attachment)
    assert odd["node"]["url"] == f"http://10.0.0.7:8000/files/{uploaded.id}"


async def test_a_relative_payment_link_is_made_absolute(db, storage):
    w = await answered_chat()
    product = await Product.create(name="Blender", price=Decimal("10.00"), currency="EUR")
    order = await sales.create_chat_order(w.me, chat_id=w.chat.id, lines=[sales.OrderLine(product.id, 1)],
                                          payment_url_template="/pay/{order_id}")
    absolute = await sales.create_chat_order(w.me, chat_id=w.chat.id, lines=[sales.OrderLine(product.id, 1)],
                                             payment_url_template="https://pay.test/{order_id}")
    token = await auth.issue_token(w.operator.id)
    settings = Settings(public_url="https://chat.example.com")
    assert (await _post(settings, storage, ORDER, token, id=gid("Order", order.id)))["node"]["paymentUrl"] == \
        f"https://chat.example.com/pay/{order.id}"
    assert (await _post(settings, storage, ORDER, token, id=gid("Order", absolute.id)))["node"]["paymentUrl"] == \
        f"https://pay.test/{absolute.id}"


async def test_a_connectors_events_url_is_absolute(db, storage):
    admin_row, admin = await make_admin()
    channel = await make_open_channel([], admin=admin)
    connector = await connectors.create_connector(admin, name="Shop site", kind="WEBHOOK", open_channel_id=channel.id,
                                                  callback_url="https://shop.test/hook")
    listed = await _post(Settings(public_url="https://chat.example.com"), storage, "{ connectors { eventsPath eventsUrl } }",
                         await auth.issue_token(admin_row.id))
    assert listed["connectors"] == [{"eventsPath": f"/connectors/{connector.id}/events",
                                     "eventsUrl": f"https://chat.example.com/connectors/{connector.id}/events"}]


def test_public_url_must_be_an_address():
    assert check_public_url("https://chat.example.com/") == "https://chat.example.com"
    assert check_public_url("https://example.com/chat") == "https://example.com/chat"
    for bad in ("chat.example.com", "ftp://chat.example.com", "https://chat.example.com/?x=1", "https://u@h.test"):
        with pytest.raises(ValueError):
            check_public_url(bad)


class _Handshake:
    """What public_base reads of a WebSocket handshake (Starlette's WebSocket has the same)."""

    def __init__(self, scheme: str, headers: dict[str, str]) -> None:
        self.scope = {"scheme": scheme, "server": ("10.0.0.7", 8000)}
        self.headers = headers


def test_a_websocket_handshake_gives_http_urls():
    assert public_base(_Handshake("wss", {"host": "chat.example.com"}), "", 0) == "https://chat.example.com"
    assert public_base(_Handshake("ws", {"host": "127.0.0.1:8000"}), "", 0) == "http://127.0.0.1:8000"
    assert public_base(_Handshake("ws", {}), "", 0) == "http://10.0.0.7:8000"
    assert public_base(None, "", 0) == ""  # no request (a test's context): URLs stay relative
