"""The operator console (/console, issue 21) in a real Chromium, beside the widget on another origin.

Two browser contexts, two people: a visitor on a shop's page (another origin, a strict CSP) that
embeds the widget, and an operator who signs in to the console served by the API server. Each
acts only through what is on their screen; the test reads the server over the API only to check.
"""
from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.test_widget import TIMEOUT_MS, Watched, _log, _open_site, site  # noqa: F401 - the embedding site
from tests.e2e.actors import Actor, Admin, Operator, start_visitor_chat, unique
from tests.e2e.conftest import admin, deployment, e2e_deployments, http, http_client  # noqa: F401 - the e2e fixtures
from tests.e2e.server import Deployment

OFFERED = "query ($id: ID!) { chat(id: $id) { status operator { id } offeredTo { id } } }"
CHAT = "query ($id: ID!) { chat(id: $id) { status pinned operator { id } rating { vote comment } } }"


async def _operator(admin: Admin) -> tuple[Operator, str, str]:  # noqa: F811
    """An ONLINE operator with a password the console signs in with: (operator, e-mail, password)."""
    name = unique("Ana")
    email, password = f"{name.lower()}@e2e.test", f"pw-{uuid.uuid4().hex}"
    created = await admin.mutate("createOperator", "operator { id }", {"name": name, "email": email,
                                 "role": "OPERATOR", "password": password}, "CreateOperatorInput")
    signed_in = await Actor(admin.http, None).mutate("login", "token", {"email": email, "password": password},
                                                     "LoginInput")
    operator = Operator(admin.http, signed_in["token"], id=created["operator"]["id"], email=email)
    await operator.set_status("ONLINE")
    return operator, email, password


async def _console(browser: Browser, deployment: Deployment, email: str, password: str,
                   prepare: Callable[[Page], Awaitable[None]] | None = None) -> tuple[BrowserContext, Page, Watched]:
    """The operator's own browser context (a second profile): the console, signed in from the keyboard."""
    context = await browser.new_context()
    page = await context.new_page()
    if prepare is not None:
        await prepare(page)
    watched = Watched(page)
    await page.goto(f"{deployment.server.base_url}/console")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("navigation", name="Chats")).to_be_visible(timeout=TIMEOUT_MS)
    return context, page, watched


async def _until_quiet(in_flight: set[Any], quiet: float = 0.5, timeout: float = TIMEOUT_MS / 1000) -> None:
    """Until no request of `in_flight` has been pending for `quiet` seconds (longer than the
    console's refresh delay, 150 ms)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet_since = loop.time()
    while loop.time() - quiet_since < quiet:
        assert loop.time() < deadline, f"the console kept reading for {timeout:g} s"
        if in_flight:
            quiet_since = loop.time()
        await asyncio.sleep(0.05)


def _group(console: Page, name: str) -> Locator:
    return console.locator(f'ul[data-group="{name}"]')


def _console_log(console: Page) -> Locator:
    return console.get_by_role("log", name="Messages")


async def _ids(log: Locator) -> list[str]:
    return await log.locator(".msg").evaluate_all("items => items.map(item => item.dataset.messageId)")


async def test_an_operator_answers_a_widget_visitor_from_the_console(
        browser, deployment, site, page_context, admin):  # noqa: F811
    operator, email, password = await _operator(admin)
    channel = await admin.create_open_channel([operator])
    await admin.mutate("createCannedResponse", "cannedResponse { id }", {
        "title": "Sizes", "text": "All sizes from S to XL are in stock.", "openChannelId": channel},
        "CreateCannedResponseInput")
    context, console, watched_console = await _console(browser, deployment, email, password)
    try:
        offered = _group(console, "Offered to me")
        await expect(offered).to_contain_text("None")

        # the visitor writes in the widget on the shop's page
        shop, watched_shop = await _open_site(page_context, site, deployment, channel)
        await shop.locator(".launcher").click()
        await shop.get_by_placeholder("Name (optional)").fill("Lucy")
        await shop.get_by_role("textbox", name="Your message").fill("Do you have size M?")
        await shop.keyboard.press("Enter")

        # the offer reaches the console live (myChatsChanged), and the channel's queue too (queueChanged)
        item = offered.get_by_role("button").filter(has_text="Lucy")
        await expect(item).to_be_visible(timeout=TIMEOUT_MS)
        await expect(console.locator(".list.queue").get_by_role("button").filter(has_text="Lucy")).to_be_visible()
        chat_id = await item.get_attribute("data-chat-id")
        await item.focus()
        await console.keyboard.press("Enter")  # keyboard: every chat is a button
        log = _console_log(console)
        await expect(log).to_contain_text("Do you have size M?", timeout=TIMEOUT_MS)
        assert await item.get_attribute("aria-current") == "true"

        # answer: the chat waits for my first reply, in its own group
        await console.get_by_role("toolbar", name="Chat actions").get_by_role("button", name="Answer").click()
        await expect(_group(console, "Waiting for the first response").get_by_role("button").filter(has_text="Lucy")) \
            .to_be_visible(timeout=TIMEOUT_MS)
        await expect(offered).to_contain_text("None")
        await expect(console.locator(".list.queue").get_by_role("button")).to_have_count(0)  # the queue, live
        await expect(shop.get_by_role("status")).to_be_hidden(timeout=TIMEOUT_MS)  # no longer in the queue

        # typing, operator -> visitor: the console reports typing (setTyping) and the widget shows it
        composer = console.get_by_role("textbox", name="Message")
        typing_shown = shop.locator(".typing")
        for _ in range(10):  # typing is live only: until the widget's subscription is up
            await composer.fill("")
            await composer.press_sequentially("Let me check", delay=20)
            try:
                await expect(typing_shown).to_contain_text("is typing", timeout=3000)
                break
            except AssertionError:
                await asyncio.sleep(2.6)  # the console says "typing" at most every 2.5 s
        await expect(typing_shown).to_contain_text("is typing")
        await composer.fill("")

        # typing, visitor -> operator: the typing subscription in the console
        box = shop.get_by_role("textbox", name="Your message")
        console_typing = console.locator(".chat .typing")
        for _ in range(10):
            await box.fill("")
            await box.press_sequentially("thanks", delay=20)
            try:
                await expect(console_typing).to_have_text("Lucy is typing…", timeout=3000)
                break
            except AssertionError:
                await asyncio.sleep(2.6)
        await expect(console_typing).to_have_text("Lucy is typing…")
        await box.fill("")

        # a silent note: shown as such in the console, never in the widget
        await console.get_by_label("Silent note (operators only)").check()
        await composer.fill("INTERNAL: VIP customer")
        await composer.press("Enter")
        note = log.locator(".msg.silent")
        await expect(note).to_contain_text("INTERNAL: VIP customer", timeout=TIMEOUT_MS)
        await expect(note.locator(".badge")).to_have_text("Silent note")
        await console.get_by_label("Silent note (operators only)").uncheck()

        # a canned response into the composer, then the reply reaches the visitor live
        await console.get_by_label("Canned response").select_option(label="Sizes")
        await console.get_by_role("button", name="Insert").click()
        await expect(composer).to_have_value("All sizes from S to XL are in stock.")
        await composer.press("End")
        await composer.press_sequentially(" [b]M[/b] too.")
        await console.get_by_role("button", name="Send", exact=True).click()
        await expect(_log(shop)).to_contain_text("All sizes from S to XL are in stock. M too.", timeout=TIMEOUT_MS)
        assert await shop.locator("[role=log] .msg strong").filter(has_text="M").count() == 1
        await expect(log.locator(".msg.OPERATOR:not(.silent) strong")).to_have_text("M")
        await expect(_group(console, "Active").get_by_role("button").filter(has_text="Lucy")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(_group(console, "Waiting for the first response")).to_contain_text("None")
        assert "INTERNAL" not in await _log(shop).inner_text()

        # pin (aria-pressed)
        pin = console.get_by_role("button", name="Pin")
        await pin.click()
        await expect(console.get_by_role("button", name="Unpin")).to_have_attribute("aria-pressed", "true",
                                                                                     timeout=TIMEOUT_MS)
        assert (await operator.data(CHAT, id=chat_id))["chat"]["pinned"] is True

        # a reload of both in the middle loses nothing: the same messages once each; the note still only in the console
        before = await _ids(log)
        assert len(before) == len(set(before)) == 3
        await console.reload()  # the token is in sessionStorage: still signed in
        await _group(console, "Active").get_by_role("button").filter(has_text="Lucy").click()
        await expect(log.locator(".msg")).to_have_count(3, timeout=TIMEOUT_MS)
        assert await _ids(log) == before
        await expect(log.locator(".msg.silent")).to_have_count(1)
        await shop.reload()
        await shop.locator(".launcher").click()
        await expect(_log(shop)).to_contain_text("M too.", timeout=TIMEOUT_MS)
        assert "INTERNAL" not in await _log(shop).inner_text()
        # ... and both go on live from there
        await box.fill("Great, thanks!")
        await box.press("Enter")
        await expect(log).to_contain_text("Great, thanks!", timeout=TIMEOUT_MS)
        await asyncio.sleep(0.5)  # time for a duplicate to show up, if the stream sent one
        shown = await _ids(log)
        assert len(shown) == len(set(shown)) == 4

        # finish: the visitor rates in the widget
        await console.get_by_role("button", name="Finish").click()
        await expect(console.locator(".chat .meta")).to_contain_text("Finished", timeout=TIMEOUT_MS)
        await expect(composer).to_be_disabled()
        rating = shop.locator("form.rating")
        await expect(rating).to_be_visible(timeout=TIMEOUT_MS)
        await rating.get_by_role("button", name="Good", exact=True).click()
        await rating.get_by_role("textbox").fill("Quick and clear")
        await rating.get_by_role("button", name="Send rating").click()
        await expect(_log(shop)).to_contain_text("Thank you for your rating.", timeout=TIMEOUT_MS)
        chat = (await operator.data(CHAT, id=chat_id))["chat"]
        assert chat["status"] == "CLOSED"
        assert chat["rating"] == {"vote": "LIKE", "comment": "Quick and clear"}
        await expect(_group(console, "Active")).to_contain_text("None", timeout=TIMEOUT_MS)

        assert watched_console.violations == [], watched_console.violations  # the console's own strict CSP
        assert watched_shop.violations == [], watched_shop.violations
        assert watched_console.dialogs == []
    finally:
        await context.close()


async def test_markup_shows_as_text_and_the_operator_skips_transfers_and_marks_spam(
        browser, deployment, admin, http):  # noqa: F811
    operator, email, password = await _operator(admin)
    colleague = await admin.create_operator("Bob " + uuid.uuid4().hex[:6])
    channel = await admin.create_open_channel([operator, colleague])
    context, console, watched = await _console(browser, deployment, email, password)
    try:
        offered = _group(console, "Offered to me")
        hostile = "<img src=x onerror=alert(1)> [url=javascript:alert(2)]click me[/url] <script>alert(3)</script>"
        first = await start_visitor_chat(http, channel, text=hostile)
        item = offered.get_by_role("button").filter(has_text="#")
        await expect(item).to_have_count(1, timeout=TIMEOUT_MS)
        await item.click()
        log = _console_log(console)
        await expect(log).to_contain_text("<img src=x onerror=alert(1)>", timeout=TIMEOUT_MS)
        await expect(log).to_contain_text("<script>alert(3)</script>")
        await expect(console.locator(".lists")).to_contain_text("<img src=x onerror=alert(1)>")  # the last message, as text
        assert await console.locator("img, .log script, .lists script").count() == 0
        links = await log.locator("a").evaluate_all("links => links.map(link => link.href)")
        assert not [link for link in links if not link.startswith("http")], links
        await asyncio.sleep(0.5)
        assert watched.dialogs == []
        assert not [url for url in watched.requests if url.endswith("/x")], watched.requests

        # skip: the offer leaves my list (the colleague may still take it)
        await console.get_by_role("button", name="Skip").click()
        await expect(offered.get_by_role("button")).to_have_count(0, timeout=TIMEOUT_MS)
        assert (await colleague.data(CHAT, id=first.chat_id))["chat"]["status"] == "QUEUED"

        # transfer an answered chat to the colleague: it leaves my list live and is offered to them
        second = await start_visitor_chat(http, channel, text="I need an invoice")
        await offered.get_by_role("button").filter(has_text="#").click()
        await expect(log).to_contain_text("I need an invoice", timeout=TIMEOUT_MS)
        await console.get_by_role("button", name="Answer").click()
        await expect(_group(console, "Waiting for the first response").get_by_role("button")).to_have_count(
            1, timeout=TIMEOUT_MS)
        await console.get_by_label("Transfer to").select_option(label=(await _name(colleague)))
        await console.get_by_role("button", name="Transfer", exact=True).click()
        await expect(_group(console, "Waiting for the first response").get_by_role("button")).to_have_count(
            0, timeout=TIMEOUT_MS)
        transferred = (await colleague.data(OFFERED, id=second.chat_id))["chat"]
        assert transferred == {"status": "QUEUED", "operator": None, "offeredTo": [{"id": colleague.id}]}

        # spam: the chat is finished at once
        third = await start_visitor_chat(http, channel, text="Buy cheap watches")
        await offered.get_by_role("button").filter(has_text="Buy cheap watches").click()
        await expect(log).to_contain_text("Buy cheap watches", timeout=TIMEOUT_MS)
        await console.get_by_role("button", name="Spam").click()
        await expect(console.locator(".chat .meta")).to_contain_text("Finished as spam", timeout=TIMEOUT_MS)
        await expect(console.get_by_role("textbox", name="Message")).to_be_disabled()
        assert (await operator.data(CHAT, id=third.chat_id))["chat"]["status"] == "SPAM"

        # my status: AWAY from the console, and ONLINE again
        presence = console.get_by_label("My status")
        await expect(presence).to_have_value("ONLINE")
        await presence.select_option("AWAY")
        await expect(console.locator(".announce")).to_have_text("Status: away.", timeout=TIMEOUT_MS)
        assert (await operator.data("query { me { operator { status } } }"))["me"]["operator"]["status"] == "AWAY"
        await presence.select_option("ONLINE")
        await expect(console.locator(".announce")).to_have_text("Status: online.", timeout=TIMEOUT_MS)

        # sign out: the sign-in form again, and no token left in the tab
        await console.get_by_role("button", name="Sign out").click()
        await expect(console.get_by_label("Password")).to_be_visible()
        assert await console.evaluate("() => sessionStorage.length") == 0
        await console.get_by_label("E-mail").fill(email)
        await console.get_by_label("Password").fill("wrong")
        await console.get_by_role("button", name="Sign in").click()
        await expect(console.locator(".announce")).not_to_be_empty(timeout=TIMEOUT_MS)
        assert await console.get_by_role("navigation", name="Chats").is_hidden()
        assert watched.violations == [], watched.violations
    finally:
        await context.close()


async def test_after_a_dropped_connection_the_console_catches_up_with_nothing_lost_or_twice(
        browser, deployment, admin, http):  # noqa: F811
    operator, email, password = await _operator(admin)
    channel = await admin.create_open_channel([operator])
    cut = {"now": False}

    async def through(socket: Any) -> None:
        if cut["now"]:
            await socket.close(code=1012)  # "service restart": graphql-ws comes back
            return
        socket.connect_to_server()

    async def prepare(page: Page) -> None:  # the page's WebSockets pass through the test, which can cut them
        await page.route_web_socket(re.compile(r".*/graphql$"), through)
        await page.add_init_script("""(() => {
            const Native = window.WebSocket;
            window.sockets = [];
            window.WebSocket = class extends Native {
                constructor(...args) { super(...args); window.sockets.push(this); }
            };
        })()""")

    context, console, _ = await _console(browser, deployment, email, password, prepare)
    reading: set[Any] = set()  # the console's HTTP reads in flight (a refresh the events asked for)
    console.on("request", lambda request: reading.add(request) if request.resource_type == "fetch" else None)
    console.on("requestfinished", lambda request: reading.discard(request))
    console.on("requestfailed", lambda request: reading.discard(request))
    try:
        visitor = await start_visitor_chat(http, channel, text="First question")
        offered = _group(console, "Offered to me")
        await offered.get_by_role("button").filter(has_text="#").click()
        log = _console_log(console)
        await expect(log).to_contain_text("First question", timeout=TIMEOUT_MS)
        await console.get_by_role("button", name="Answer").click()
        await expect(_group(console, "Waiting for the first response").get_by_role("button")).to_have_count(
            1, timeout=TIMEOUT_MS)

        # no read of the lists or the chat in flight or scheduled (REFRESH_MS after an event): one
        # that ran after the visitor's messages would show them over HTTP, not through the socket
        await _until_quiet(reading)
        # the connection drops and stays down while the visitor writes and another visitor arrives
        cut["now"] = True
        await console.evaluate("() => window.sockets.forEach(socket => socket.close(3000, 'the network is gone'))")
        await expect(console.locator(".top .connection")).to_have_text("Reconnecting…", timeout=TIMEOUT_MS)
        await visitor.send("While you were away (1)")
        await visitor.send("While you were away (2)")
        await start_visitor_chat(http, channel, text="A newcomer", name="Newcomer")
        await asyncio.sleep(1)
        assert "While you were away" not in await log.inner_text()  # nothing reached the page

        cut["now"] = False  # back: graphql-ws reconnects and each subscription resumes after its last event
        await expect(log).to_contain_text("While you were away (2)", timeout=TIMEOUT_MS)
        await expect(offered.get_by_role("button").filter(has_text="Newcomer")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(console.locator(".top .connection")).to_have_text("")
        await asyncio.sleep(0.5)
        shown = await _ids(log)
        assert len(shown) == len(set(shown)) == 3  # nothing twice
        texts = await log.locator(".msg .text").all_inner_texts()
        assert texts == ["First question", "While you were away (1)", "While you were away (2)"]
    finally:
        await context.close()


async def _name(operator: Operator) -> str:
    return (await operator.data("query { me { operator { name } } }"))["me"]["operator"]["name"]
