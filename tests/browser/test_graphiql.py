"""GraphiQL in a real headless Chromium with no internet: every request that is not to the test
server is refused (and recorded: the test fails if one is even attempted). The page renders from
the server's own files, opens on the example operation with the headers skeleton, and runs a
query and a subscription (graphql-transport-ws) with the token put in its Headers tab."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, Route
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from openchannels.graphiql.page import DEFAULT_HEADERS, HERE
from tests.e2e.actors import Admin, GraphQLHttp, start_visitor_chat, unique
from tests.e2e.conftest import deployment, e2e_deployments  # noqa: F401 - the real server per backend, as in tests/e2e
from tests.e2e.server import Deployment

#: how long the page may take to show the editor, and an answer to show up in the result pane
UI_TIMEOUT_MS = 15_000
SCREENSHOT = "/tmp/openchannels-graphiql.png"
EXAMPLE = (HERE / "example.graphql").read_text()

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESPONSE = ".graphiql-response .CodeMirror"


@dataclass
class OfflinePage:
    page: Page
    #: requests to anywhere but the test server: refused, and none may be attempted
    foreign: list[str] = field(default_factory=list)
    #: console errors and uncaught exceptions (a CSP violation is a console error)
    errors: list[str] = field(default_factory=list)

    async def text(self, editor: str) -> str:
        """What the user sees in a CodeMirror editor of the page."""
        return await self.page.locator(editor).evaluate("element => element.CodeMirror.getValue()")

    async def replace_text(self, editor: str, text: str) -> None:
        """Click into the editor, select all, and paste `text` over it."""
        await self.page.locator(editor).click()
        await self.page.keyboard.press("Control+A")
        await self.page.keyboard.insert_text(text)

    async def wait_for_operation(self, name: str) -> None:
        """Until GraphiQL has parsed the edited text (it does so a moment after a change: run at once,
        and it would still ask for the operation that was there before)."""
        await self.page.wait_for_function("([selector, name]) => document.querySelector(selector).CodeMirror"
                                          ".operationName === name", arg=[QUERY_EDITOR, name], timeout=UI_TIMEOUT_MS)

    async def run(self) -> None:
        await self.page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()

    async def wait_for_response_containing(self, text: str) -> dict:
        try:
            await self.page.wait_for_function(
                "([selector, text]) => document.querySelector(selector)?.CodeMirror.getValue().includes(text)",
                arg=[RESPONSE, text], timeout=UI_TIMEOUT_MS)
        except PlaywrightTimeoutError:
            raise AssertionError(f"no {text!r} in the result pane:\n{await self.text(RESPONSE)}\n"
                                 f"errors: {self.errors}, foreign requests: {self.foreign}") from None
        return json.loads(await self.text(RESPONSE))


@pytest_asyncio.fixture
async def graphiql(deployment: Deployment, page_context: BrowserContext) -> AsyncIterator[OfflinePage]:  # noqa: F811
    local = deployment.server.base_url + "/"
    page = await page_context.new_page()
    offline = OfflinePage(page)

    async def only_the_test_server(route: Route) -> None:
        if route.request.url.startswith(local):
            await route.continue_()
        else:
            offline.foreign.append(route.request.url)
            await route.abort("internetdisconnected")

    await page_context.route("**/*", only_the_test_server)
    page.on("console", lambda message: message.type == "error" and offline.errors.append(message.text))
    page.on("pageerror", lambda error: offline.errors.append(str(error)))
    await page.set_viewport_size({"width": 1400, "height": 900})
    await page.goto(deployment.server.graphql_url)
    await page.locator(QUERY_EDITOR).wait_for(state="visible", timeout=UI_TIMEOUT_MS)
    yield offline


async def test_graphiql_runs_offline_with_the_example_and_a_token(deployment: Deployment,  # noqa: F811
                                                                  graphiql: OfflinePage):
    assert await graphiql.text(QUERY_EDITOR) == EXAMPLE
    assert await graphiql.text(HEADERS_EDITOR) == DEFAULT_HEADERS
    assert await graphiql.page.get_by_text("Headers", exact=True).is_visible()
    assert await graphiql.page.locator(HEADERS_EDITOR).is_visible()  # open on the Headers tab

    await graphiql.replace_text(HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {deployment.admin_token}"}))
    await graphiql.run()
    result = await graphiql.wait_for_response_containing("E2E Admin")

    assert result == {"data": {
        "me": {"operator": {"name": "E2E Admin", "role": "ADMIN", "status": "OFFLINE"}, "unreadCount": 0},
        "myChats": {"offered": [], "waitingFirstResponse": [], "active": [], "internal": []},
    }}
    await graphiql.page.screenshot(path=SCREENSHOT)
    assert graphiql.foreign == [] and graphiql.errors == []


async def test_a_subscription_runs_over_the_websocket_with_the_token_of_the_headers_tab(
        deployment: Deployment, graphiql: OfflinePage):  # noqa: F811
    async with httpx.AsyncClient(timeout=15) as client:
        http = GraphQLHttp(client, deployment.server.graphql_url)
        admin = Admin(http, deployment.admin_token)
        operator = await admin.create_operator(status="OFFLINE")  # nobody to offer to: the chats stay QUEUED
        channel = await admin.create_open_channel([operator], name=unique("GraphiQL channel"))
        before = await start_visitor_chat(http, channel)  # replayed (after: "0"): the subscription is live

        sockets = []
        graphiql.page.on("websocket", lambda socket: sockets.append(socket))
        await graphiql.replace_text(HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {admin.token}"}))
        await graphiql.replace_text(
            QUERY_EDITOR,
            f'subscription Queue {{ queueChanged(openChannelIds: ["{channel}"], after: "0") {{ kind chat {{ id }} }} }}')
        await graphiql.wait_for_operation("Queue")
        await graphiql.run()
        await graphiql.wait_for_response_containing(before.chat_id)
        during = await start_visitor_chat(http, channel)
        result = await graphiql.wait_for_response_containing(during.chat_id)

    assert result == {"data": {"queueChanged": {"kind": "CHAT_QUEUED", "chat": {"id": during.chat_id}}}}
    assert [socket.url for socket in sockets] == [deployment.server.ws_url]
    assert graphiql.foreign == [] and graphiql.errors == []
