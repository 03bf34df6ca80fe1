"""The website chat widget (issue 21) in a real Chromium, embedded by a page on another origin.

A tiny HTTP server serves the embedding page at http://localhost:<port>/ (another origin than
the API's http://127.0.0.1:<port>): one `<script src=".../widget.js" data-open-channel=ID async>`
tag and, unless asked otherwise, a strict Content-Security-Policy that allows the API server in
script-src and connect-src and nothing else: no inline script, no style at all. The operator
acts over the GraphQL API from the test (HTTP, and a WebSocket for the visitor's typing); the
visitor only through the widget, as a person would: clicks, keys, what is on the screen.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.e2e.actors import Admin, Operator, start_visitor_chat
from tests.e2e.conftest import admin, deployment, e2e_deployments, http, http_client  # noqa: F401 - the e2e fixtures
from tests.e2e.live import LiveConnection
from tests.e2e.server import Deployment

TIMEOUT_MS = 15_000
SET_TYPING = "mutation ($input: SetTypingInput!) { setTyping(input: $input) }"
TYPING = "subscription ($chatId: ID) { typing(chatId: $chatId) { authorKind typing } }"
QUEUED = "query ($id: ID!) { node(id: $id) { ... on OpenChannel { queuedChats { id } } } }"
CHAT = "query ($id: ID!) { chat(id: $id) { status rating { vote comment } messages(first: 100) { totalCount } } }"


def _csp(api: str) -> str:
    socket = api.replace("http", "ws", 1)
    return (f"default-src 'none'; script-src {api}; connect-src {api} {socket}; style-src 'none'; "
            "img-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class _EmbeddingPage(BaseHTTPRequestHandler):
    """GET /?api=<API origin>&channel=<id>[&csp=0][&lang=..][&language=..][&external-id=..&identity-hash=..]: a
    site's page with the widget's tag."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        query = {key: values[0] for key, values in parse_qs(urlparse(self.path).query).items()}
        api, channel = query["api"], query["channel"]
        identity = "".join(f' data-{name}="{html.escape(query[name])}"' for name in ("external-id", "identity-hash", "language")
                           if name in query)  # what the site's server signs for its signed-in user
        body = (f'<!doctype html><html lang="{html.escape(query.get("lang", "en"))}"><meta charset="utf-8">'
                f"<title>A shop</title><h1>A shop on another origin</h1>"
                f'<script src="{html.escape(api)}/widget.js" data-open-channel="{html.escape(channel)}"{identity} async>'
                f"</script>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if query.get("csp") != "0":
            self.send_header("Content-Security-Policy", _csp(api))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The embedding site's origin: localhost, while the API is 127.0.0.1 (another origin)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Watched:
    """What the page did that it should not have: CSP violations, dialogs, requests to `x`."""

    def __init__(self, page: Page) -> None:
        self.violations: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda message: self.violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.on("dialog", self._dialog)
        page.on("request", lambda request: self.requests.append(request.url))

    async def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()


async def _open_site(context: BrowserContext, site: str, deployment: Deployment, channel: str,
                     page: Page | None = None, **params: str) -> tuple[Page, Watched]:
    page = page or await context.new_page()
    watched = Watched(page)
    await page.goto(f"{site}/?{urlencode({'api': deployment.server.base_url, 'channel': channel, **params})}")
    await expect(page.locator(".launcher")).to_be_visible(timeout=TIMEOUT_MS)
    return page, watched


def _log(page: Page) -> Locator:
    return page.locator("[role=log]")


def _messages(page: Page) -> Locator:
    return page.locator("[role=log] .msg")


async def _ids_shown(page: Page) -> list[str]:
    return await _messages(page).evaluate_all("items => items.map(item => item.dataset.messageId)")


async def _queued_chat(operator: Operator, channel: str) -> str:
    for _ in range(50):
        queued = (await operator.data(QUEUED, id=channel))["node"]["queuedChats"]
        if queued:
            return queued[0]["id"]
        await asyncio.sleep(0.2)
    raise AssertionError("the widget's chat never reached the queue")


async def _upload(deployment: Deployment, operator: Operator, chat_id: str, name: str, content: bytes) -> str:
    """The operator uploads a file (a GraphQL multipart request); its attachment id."""
    operations = {"query": "mutation ($c: ID!, $f: Upload!) { uploadFile(input: {chatId: $c, file: $f}) "
                           "{ attachment { id } userErrors { code } } }", "variables": {"c": chat_id, "f": None}}
    async with httpx.AsyncClient(timeout=15) as client:
        answer = await client.post(deployment.server.graphql_url, headers={
            "Authorization": f"Bearer {operator.token}", "Apollo-Require-Preflight": "true"},
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
            files={"0": (name, content, "text/plain")})
    return answer.json()["data"]["uploadFile"]["attachment"]["id"]


async def _channel(admin: Admin, *, language: str = "en", welcome: str | None = None,  # noqa: F811
                   contact_fields: str = "OPTIONAL", name: str | None = None) -> tuple[Operator, str]:
    operator = await admin.create_operator()
    channel = await admin.create_open_channel([operator], name=name)
    await admin.mutate("updateOpenChannel", "openChannel { id }",
                       {"openChannelId": channel, "language": language, "welcomeMessage": welcome,
                        "contactFields": contact_fields}, "UpdateOpenChannelInput")
    return operator, channel


#: the launcher's label and the panel's title when the widget's host enters the page (before the
#: browser paints it: a MutationObserver's callback runs before the next rendering)
FIRST_PAINT = """(() => {
    new MutationObserver((changes, observer) => {
        for (const change of changes) for (const node of change.addedNodes) {
            const root = node.dataset && node.dataset.openChannelsWidget === "" && node.shadowRoot;
            if (!root) continue;
            window.firstPaint = {label: root.querySelector(".launcher").getAttribute("aria-label"),
                                 title: root.querySelector("h2").textContent,
                                 message: root.querySelector("textarea").placeholder};
            observer.disconnect();
        }
    }).observe(document, {childList: true, subtree: true});
})()"""


async def test_a_visitor_chats_with_an_operator_through_the_widget_on_a_strict_csp_page(
        deployment, site, page_context, admin):  # noqa: F811
    operator, channel = await _channel(admin, language="es", welcome="¡Hola! ¿En qué podemos ayudarte?")
    page, watched = await _open_site(page_context, site, deployment, channel, lang="es")

    launcher = page.locator(".launcher")
    assert await launcher.get_attribute("aria-expanded") == "false"
    await launcher.focus()
    await page.keyboard.press("Enter")  # keyboard: the launcher is a button
    panel = page.get_by_role("dialog")
    await expect(panel).to_be_visible()
    assert await launcher.get_attribute("aria-expanded") == "true"
    # styled although the page allows no style at all (a constructed stylesheet in the shadow root)
    assert await launcher.evaluate("button => getComputedStyle(button).position") == "fixed"

    await page.get_by_placeholder("Nombre (opcional)").fill("Lucía")
    await page.get_by_role("textbox", name="Tu mensaje").fill("Hola, ¿tenéis la talla M?")
    await page.keyboard.press("Enter")
    await expect(_log(page)).to_contain_text("Hola, ¿tenéis la talla M?", timeout=TIMEOUT_MS)
    await expect(_log(page)).to_contain_text("¡Hola! ¿En qué podemos ayudarte?", timeout=TIMEOUT_MS)  # the welcome
    # queued: the place in the queue, in the channel's language
    await expect(page.get_by_role("status")).to_contain_text("Eres el número 1 en la cola", timeout=TIMEOUT_MS)

    chat_id = await _queued_chat(operator, channel)
    await operator.answer(chat_id)
    await expect(page.get_by_role("status")).to_be_hidden(timeout=TIMEOUT_MS)

    # typing, operator -> visitor (typing is live only: repeat until the widget's subscription is up)
    typing = page.locator(".typing")
    for _ in range(30):
        await operator.data(SET_TYPING, input={"chatId": chat_id, "typing": True})
        if "está escribiendo" in (await typing.text_content() or ""):
            break
        await asyncio.sleep(0.4)
    await expect(typing).to_contain_text("está escribiendo…")

    # typing, visitor -> operator
    async with LiveConnection(deployment.server.ws_url, token=operator.token) as connection:
        subscription = await connection.subscribe(TYPING, {"chatId": chat_id})
        box = page.get_by_role("textbox", name="Tu mensaje")
        event: dict[str, Any] | None = None
        for _ in range(10):  # until the operator's subscription is up (typing is not replayed)
            await box.fill("")
            await box.press_sequentially("un momento", delay=20)
            try:
                event = (await subscription.next(timeout=3))["typing"]
                while not event["typing"]:  # a "stopped" of an earlier round
                    event = (await subscription.next(timeout=3))["typing"]
                break
            except AssertionError:
                await asyncio.sleep(2.6)  # the widget says "typing" at most every 2.5 s
        assert event == {"authorKind": "CLIENT", "typing": True}
        await box.fill("")

    # a silent note never reaches the widget; the reply arrives live
    await operator.send(chat_id, "NOTA INTERNA: cliente VIP", silent=True)
    await operator.send(chat_id, "Sí, [b]la talla M[/b] está disponible")
    await expect(_log(page)).to_contain_text("Sí, la talla M está disponible", timeout=TIMEOUT_MS)
    assert await page.locator("[role=log] .msg strong").filter(has_text="la talla M").count() == 1  # formatted
    await expect(typing).to_have_text("")  # the reply ends the typing indicator
    assert "NOTA INTERNA" not in await _log(page).inner_text()
    before = await _ids_shown(page)
    assert len(before) == len(set(before)) == 3  # welcome, the visitor's message, the reply

    # a reload keeps the conversation: the same messages once each, the note still absent
    await page.reload()
    await page.locator(".launcher").click()
    await expect(_messages(page)).to_have_count(3, timeout=TIMEOUT_MS)
    assert await _ids_shown(page) == before
    assert "NOTA INTERNA" not in await _log(page).inner_text()
    # ... and the stream goes on from where it was: a new reply appears once
    await operator.send(chat_id, "¿Algo más?")
    await expect(_log(page)).to_contain_text("¿Algo más?", timeout=TIMEOUT_MS)
    await page.get_by_role("textbox", name="Tu mensaje").fill("No, gracias")
    await page.get_by_role("button", name="Enviar", exact=True).click()
    await expect(_log(page)).to_contain_text("No, gracias", timeout=TIMEOUT_MS)
    await asyncio.sleep(0.5)  # time for a duplicate to show up, if the stream sent one
    shown = await _ids_shown(page)
    assert len(shown) == len(set(shown)) == 5

    # the operator finishes: the rating request (a system message) and the widget's like/comment
    await operator.finish(chat_id)
    rating = page.locator("form.rating")
    await expect(rating).to_be_visible(timeout=TIMEOUT_MS)
    await rating.get_by_role("button", name="Bien", exact=True).click()
    assert await rating.get_by_role("button", name="Bien", exact=True).get_attribute("aria-pressed") == "true"
    await rating.get_by_role("textbox").fill("Muy rápido")
    await rating.get_by_role("button", name="Enviar valoración").click()
    await expect(_log(page)).to_contain_text("Gracias por tu valoración.", timeout=TIMEOUT_MS)
    chat = (await operator.data(CHAT, id=chat_id))["chat"]
    assert chat["status"] == "CLOSED"
    assert chat["rating"] == {"vote": "LIKE", "comment": "Muy rápido"}

    # Escape closes the panel and gives the focus back to the launcher
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    assert await page.evaluate("() => document.activeElement?.dataset.openChannelsWidget === ''")
    assert watched.violations == [], watched.violations  # nothing the strict CSP had to refuse


async def test_markup_in_messages_shows_as_text_and_runs_nothing_then_the_visitor_ends_the_chat(
        deployment, site, page_context, admin):  # noqa: F811
    """On a page without any CSP (nothing would stop a script): only the widget's care does."""
    operator, channel = await _channel(admin)
    page, watched = await _open_site(page_context, site, deployment, channel, csp="0")
    await page.locator(".launcher").click()
    hostile = "<img src=x onerror=alert(1)> [url=javascript:alert(2)]click me[/url]"
    await page.get_by_role("textbox", name="Your message").fill(hostile)
    await page.keyboard.press("Enter")
    chat_id = await _queued_chat(operator, channel)
    await operator.answer(chat_id)
    await operator.send(chat_id, "<script>alert(3)</script><img src=x onerror=alert(4)> [url=javascript:alert(5)]here[/url]")

    await expect(_log(page)).to_contain_text("<script>alert(3)</script><img src=x onerror=alert(4)>",
                                             timeout=TIMEOUT_MS)
    await expect(_log(page)).to_contain_text(hostile)
    assert await page.locator("[role=log] img, [role=log] script").count() == 0
    links = await page.locator("[role=log] a").evaluate_all("links => links.map(link => link.href)")
    assert not [link for link in links if not link.startswith("http")], links
    await asyncio.sleep(0.5)
    assert watched.dialogs == []
    assert not [url for url in watched.requests if urlparse(url).path.endswith("/x")], watched.requests

    # "End chat": the chat closes, the widget says so, no rating is asked
    await page.get_by_role("button", name="End chat").click()
    await expect(_log(page)).to_contain_text("The chat has ended.", timeout=TIMEOUT_MS)
    assert (await operator.data(CHAT, id=chat_id))["chat"]["status"] == "CLOSED"
    await expect(page.get_by_role("button", name="End chat")).to_be_hidden()
    assert await page.locator("form.rating").is_hidden()

    # writing again starts a new conversation, shown on its own
    await page.get_by_role("textbox", name="Your message").fill("One more question")
    await page.keyboard.press("Enter")
    second = await _queued_chat(operator, channel)
    assert second != chat_id
    await expect(_messages(page)).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(_log(page)).to_contain_text("One more question")
    await expect(page.get_by_role("button", name="End chat")).to_be_visible()


async def test_after_a_dropped_connection_the_widget_resumes_with_nothing_lost_or_twice_and_files_go_both_ways(
        deployment, site, page_context, admin, tmp_path):  # noqa: F811
    operator, channel = await _channel(admin)
    page = await page_context.new_page()
    # the page's WebSockets pass through the test, which can cut them and refuse new ones for a while
    cut = {"now": False}

    async def through(socket: Any) -> None:
        if cut["now"]:
            await socket.close(code=1012)  # "service restart": a client comes back
            return
        socket.connect_to_server()

    await page.route_web_socket(re.compile(r".*/graphql$"), through)
    await page.add_init_script("""(() => {  // the page's WebSockets, for the test to cut
        const Native = window.WebSocket;
        window.sockets = [];
        window.WebSocket = class extends Native {
            constructor(...args) { super(...args); window.sockets.push(this); }
        };
    })()""")
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: frames.append(str(frame))))
    page, _ = await _open_site(page_context, site, deployment, channel, page=page)
    await page.locator(".launcher").click()
    await page.get_by_role("textbox", name="Your message").fill("Before the cut")
    await page.keyboard.press("Enter")
    chat_id = await _queued_chat(operator, channel)
    await operator.answer(chat_id)
    await operator.send(chat_id, "Reply one")
    await expect(_log(page)).to_contain_text("Reply one", timeout=TIMEOUT_MS)

    # files: the visitor sends one through the widget, the operator one back (a signed link)
    upload = tmp_path / "order.txt"
    upload.write_text("order 42")
    await page.locator("input[type=file]").set_input_files(str(upload))
    await expect(page.locator("[role=log] .msg.CLIENT a")).to_contain_text("order.txt", timeout=TIMEOUT_MS)
    sent = (await operator.data("query ($id: ID!) { chat(id: $id) { messages(last: 1) { edges { node { "
                                "attachments { name } } } } } }", id=chat_id))["chat"]["messages"]["edges"]
    assert sent[0]["node"]["attachments"] == [{"name": "order.txt"}]
    invoice = await _upload(deployment, operator, chat_id, "invoice.txt", b"invoice 42")
    await operator.mutate("sendMessage", "message { id }", {"chatId": chat_id, "text": "Your invoice",
                                                            "attachmentIds": [invoice]}, "SendMessageInput")
    link = page.locator("[role=log] .msg.OPERATOR a").filter(has_text="invoice.txt")
    await expect(link).to_be_visible(timeout=TIMEOUT_MS)
    href = await link.get_attribute("href")
    assert href.startswith(f"{deployment.server.base_url}/files/") and "signature=" in href
    downloaded = await page.evaluate("url => fetch(url).then(answer => answer.text())", href)
    assert downloaded == "invoice 42"

    # the connection drops and stays down while the operator writes
    cut["now"] = True
    await page.evaluate("() => window.sockets.forEach(socket => socket.close(3000, 'the network is gone'))")
    await expect(page.get_by_role("status")).to_have_text("Reconnecting…", timeout=TIMEOUT_MS)
    await operator.send(chat_id, "While you were away (1)")
    await operator.send(chat_id, "While you were away (2)")
    await asyncio.sleep(1)
    assert "While you were away" not in await _log(page).inner_text()  # nothing reaches the page
    frames_before = len(frames)

    cut["now"] = False  # back: graphql-ws reconnects and subscribes again after the last event seen
    await expect(_log(page)).to_contain_text("While you were away (2)", timeout=TIMEOUT_MS)
    await expect(page.get_by_role("status")).to_be_hidden(timeout=TIMEOUT_MS)
    await asyncio.sleep(0.5)
    shown = await _ids_shown(page)
    assert len(shown) == len(set(shown)) == 6  # nothing twice
    texts = await _messages(page).locator(".text").all_inner_texts()
    assert texts[-2:] == ["While you were away (1)", "While you were away (2)"]
    # the replay came over the new connection, once each (the events after the last one seen)
    replayed = [frame for frame in frames[frames_before:] if "While you were away" in frame]
    assert len(replayed) == 2, replayed
    await operator.send(chat_id, "And live again")
    await expect(_log(page)).to_contain_text("And live again", timeout=TIMEOUT_MS)


async def test_a_signed_in_visitor_is_the_client_the_site_signed_for(deployment, site, page_context, admin):  # noqa: F811
    """data-external-id and data-identity-hash on the tag go to startVisitorChat."""
    operator, channel = await _channel(admin)
    secret = (await admin.mutate("rotateIdentitySecret", "secret", {"openChannelId": channel},
                                 "OpenChannelInput"))["secret"]
    signed = hmac.new(secret.encode(), b"shop-user-42", hashlib.sha256).hexdigest()
    page, _ = await _open_site(page_context, site, deployment, channel,
                               **{"external-id": "shop-user-42", "identity-hash": signed})
    await page.locator(".launcher").click()
    await page.get_by_role("textbox", name="Your message").fill("It's me")
    await page.keyboard.press("Enter")
    chat_id = await _queued_chat(operator, channel)
    client = (await operator.data("query ($id: ID!) { chat(id: $id) { client { externalId } } }",
                                  id=chat_id))["chat"]["client"]
    assert client == {"externalId": "shop-user-42"}


async def test_a_required_channel_asks_name_and_email_before_the_first_message(
        deployment, site, page_context, admin):  # noqa: F811
    """The channel's contactFields (widgetSettings), not an attribute of the tag: REQUIRED."""
    operator, channel = await _channel(admin, contact_fields="REQUIRED")
    page, _ = await _open_site(page_context, site, deployment, channel)
    await page.locator(".launcher").click()
    name, email = page.get_by_role("textbox", name="Name", exact=True), page.get_by_role("textbox", name="E-mail",
                                                                                          exact=True)
    assert await name.evaluate("input => input.required") and await email.evaluate("input => input.required")
    message = page.get_by_role("textbox", name="Your message")
    await message.fill("Hello?")
    await page.keyboard.press("Enter")
    assert await name.evaluate("input => input.validity.valueMissing")
    await name.fill("Lucy")
    await message.press("Enter")
    assert await email.evaluate("input => input.validity.valueMissing")
    await asyncio.sleep(0.5)
    assert await _messages(page).count() == 0  # not sent
    await email.fill("lucy@example.com")
    await message.press("Enter")
    await expect(_log(page)).to_contain_text("Hello?", timeout=TIMEOUT_MS)
    chat_id = await _queued_chat(operator, channel)
    client = (await operator.data("query ($id: ID!) { chat(id: $id) { client { name email } } }",
                                  id=chat_id))["chat"]["client"]
    assert client == {"name": "Lucy", "email": "lucy@example.com"}
    # after a reload the contact fields are gone and block nothing
    await page.reload()
    await page.locator(".launcher").click()
    await expect(name).to_be_hidden()
    await page.get_by_role("textbox", name="Your message").fill("Still there?")
    await page.keyboard.press("Enter")
    await expect(_log(page)).to_contain_text("Still there?", timeout=TIMEOUT_MS)


async def test_a_spanish_channel_speaks_spanish_from_the_first_paint_on_an_english_page(
        deployment, site, page_context, admin):  # noqa: F811
    """widgetSettings before anything is shown: the channel's language and name, not the page's
    (`<html lang="en">`, an English browser), and a channel that asks no contact fields shows none."""
    operator, channel = await _channel(admin, language="es", contact_fields="NONE", name="Tienda Sol")
    page = await page_context.new_page()
    await page.add_init_script(FIRST_PAINT)
    page, watched = await _open_site(page_context, site, deployment, channel, page=page, lang="en")
    assert (await page.evaluate("() => navigator.language")).startswith("en")
    assert await page.evaluate("() => window.firstPaint") == {
        "label": "Chatea con nosotros", "title": "Tienda Sol", "message": "Tu mensaje"}

    await page.get_by_role("button", name="Chatea con nosotros").click()
    panel = page.get_by_role("dialog")
    await expect(panel.get_by_role("heading")).to_have_text("Tienda Sol")
    await expect(_log(page)).to_contain_text("Escríbenos: un operador te responderá aquí.")
    await expect(page.get_by_role("button", name="Enviar", exact=True)).to_be_visible()
    assert await page.locator("input[autocomplete=name]").is_hidden()  # NONE: no name, no e-mail
    assert await page.locator("input[autocomplete=email]").is_hidden()
    await page.get_by_role("textbox", name="Tu mensaje").fill("Hola")
    await page.keyboard.press("Enter")
    await expect(_log(page)).to_contain_text("Hola", timeout=TIMEOUT_MS)
    chat_id = await _queued_chat(operator, channel)
    assert chat_id
    assert watched.violations == [], watched.violations


async def test_without_widget_settings_the_tag_decides_the_language_and_a_refusal_the_form(
        deployment, site, page_context, admin):  # noqa: F811
    """widgetSettings fails (the network): data-language stands in, the form is optional until the
    REQUIRED channel's startVisitorChat refuses the start; then it asks for both, and nothing was sent."""
    operator, channel = await _channel(admin, language="es", contact_fields="REQUIRED")
    page = await page_context.new_page()

    async def no_settings(route: Any) -> None:
        if route.request.method == "POST" and "widgetSettings" in (route.request.post_data or ""):
            await route.abort()
        else:
            await route.continue_()

    await page.route(re.compile(r".*/graphql$"), no_settings)
    page, _ = await _open_site(page_context, site, deployment, channel, page=page, language="pt")
    await page.locator(".launcher").click()
    name = page.get_by_role("textbox", name="Nome (opcional)")
    await expect(name).to_be_visible()
    await page.get_by_role("textbox", name="Sua mensagem").fill("Olá")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_have_text("Informe seu nome e e-mail.", timeout=TIMEOUT_MS)
    name = page.get_by_role("textbox", name="Nome", exact=True)
    assert await name.evaluate("input => input.required")
    assert await page.get_by_role("textbox", name="E-mail", exact=True).evaluate("input => input.required")
    assert await _messages(page).count() == 0
    await name.fill("Rita")
    await page.get_by_role("textbox", name="E-mail", exact=True).fill("rita@example.com")
    await page.get_by_role("textbox", name="Sua mensagem").press("Enter")
    await expect(_log(page)).to_contain_text("Olá", timeout=TIMEOUT_MS)
    chat_id = await _queued_chat(operator, channel)
    client = (await operator.data("query ($id: ID!) { chat(id: $id) { client { name email } } }",
                                  id=chat_id))["chat"]["client"]
    assert client == {"name": "Rita", "email": "rita@example.com"}


async def test_a_visitor_who_writes_while_the_channel_is_closed_reads_its_after_hours_text(
        deployment, site, page_context, admin):  # noqa: F811
    operator, channel = await _channel(admin, language="pt")
    await admin.mutate("updateOpenChannel", "openChannel { isOpenNow }", {
        "openChannelId": channel, "workingHours": {"timeZone": "Europe/Lisbon", "periods": []},
        "afterHoursMessage": "Estamos fechados: respondemos a partir das 9h."}, "UpdateOpenChannelInput")
    page, _ = await _open_site(page_context, site, deployment, channel, lang="pt-BR")
    await page.locator(".launcher").click()
    await page.get_by_role("textbox", name="Sua mensagem").fill("Olá, alguém aí?")
    await page.keyboard.press("Enter")
    await expect(page.locator("[role=log] .msg.SYSTEM")).to_contain_text(
        "Estamos fechados: respondemos a partir das 9h.", timeout=TIMEOUT_MS)
    await expect(page.get_by_role("status")).to_contain_text("Você é o número 1 na fila", timeout=TIMEOUT_MS)


async def test_the_place_in_the_queue_moves_live_when_a_chat_ahead_is_answered(
        deployment, site, page_context, admin, http):  # noqa: F811
    """visitorQueue: no event of the visitor's own chat says that a chat ahead was answered."""
    operator, channel = await _channel(admin)
    ahead = await start_visitor_chat(http, channel, text="I was here first")
    page = await page_context.new_page()
    standings: list[str] = []
    page.on("websocket", lambda socket: socket.on(
        "framereceived", lambda frame: standings.append(str(frame)) if '"visitorQueue"' in str(frame) else None))
    page, _ = await _open_site(page_context, site, deployment, channel, page=page)
    await page.locator(".launcher").click()
    await page.get_by_role("textbox", name="Your message").fill("Me too")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("You are number 2 in the queue.", timeout=TIMEOUT_MS)
    for _ in range(50):  # the widget's visitorQueue is up: its first result (the standing now) came
        if standings:
            break
        await asyncio.sleep(0.1)
    assert '"queuePosition":2' in standings[0], standings
    await operator.answer(ahead.chat_id)
    await expect(page.get_by_role("status")).to_contain_text("You are number 1 in the queue.", timeout=TIMEOUT_MS)
    # the channel has answered a chat now: an estimate too (its median wait less the time waited)
    await page.reload()
    await page.locator(".launcher").click()
    await expect(page.get_by_role("status")).to_have_text(
        "You are number 1 in the queue. Estimated wait: about 1 min.", timeout=TIMEOUT_MS)
