"""A single-page app on another origin uses the API from a real Chromium (CORS, issue 17).

A tiny HTTP server serves a page (tests/browser/spa.html) at http://127.0.0.1:<port>: the API
server (another port: another origin) lists that origin in OPENCHANNELS_ALLOWED_ORIGINS. The
same page at http://localhost:<port> is an origin it does not list. The page calls the API with
`fetch` and a WebSocket, as an SPA does; what the page could read is what the test checks.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page

from tests.e2e.actors import Admin, Operator, Visitor, start_visitor_chat
from tests.e2e.conftest import admin, deployment, e2e_deployments, http, http_client  # noqa: F401 - the e2e fixtures
from tests.e2e.server import Deployment, ServerProcess

SPA = (Path(__file__).parent / "spa.html").read_bytes()
#: every header the page's GraphQL clients may send (Apollo Client, urql, graphql-request, tracing)
CLIENT_HEADERS = {
    "Content-Type": "application/json",
    "apollographql-client-name": "spa", "apollographql-client-version": "1.2.3",
    "x-apollo-operation-name": "Me", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "tracestate": "vendor=value", "baggage": "userId=alice", "sentry-trace": "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
    "x-request-id": "spa-1",
}
ME = "query Me { me { operator { id name } } }"
#: small limits on the CORS server, to make it answer early (413, 414) and refuse (429)
LIMITS = {"MAX_REQUEST_BYTES": "4096", "MAX_UPLOAD_BYTES": "1024", "RATE_LIMIT_LOGIN_PER_MINUTE": "1",
          "CORS_MAX_AGE_SECONDS": "321"}


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(SPA)))
        self.end_headers()
        self.wfile.write(SPA)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page_port() -> Iterator[int]:
    """The SPA's own server: http://127.0.0.1:<port> (allowed) and http://localhost:<port> (not)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


async def _server_of(deployment: Deployment, env: dict[str, str]) -> ServerProcess:
    return await deployment.start_server(env={**LIMITS, "RATE_LIMIT_REDIS_PREFIX": f"oc-cors:{uuid.uuid4().hex}",
                                              **env})


@pytest_asyncio.fixture
async def api(deployment: Deployment, page_port: int) -> AsyncIterator[ServerProcess]:  # noqa: F811
    """A server that lets the SPA's origin in (and another one, to show a list works)."""
    server = await _server_of(deployment, {
        "OPENCHANNELS_ALLOWED_ORIGINS": f"https://app.example.com, http://127.0.0.1:{page_port}"})
    try:
        yield server
    finally:
        deployment.stop_server(server)


async def _spa(page_context: BrowserContext, url: str) -> Page:
    page = await page_context.new_page()
    await page.goto(url)
    return page


async def _own_page(page_context: BrowserContext, server: ServerProcess) -> Page:
    """A page of the API server's own origin (its /healthz), running the SPA's script."""
    page = await _spa(page_context, f"{server.base_url}/healthz")
    await page.add_script_tag(content=SPA.decode().split("<script>")[1].split("</script>")[0])
    return page


async def _call(page: Page, url: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
    return await page.evaluate("([url, init]) => spa.call(url, init)", [url, init or {}])


async def _chat_with_operator(admin: Admin, http) -> tuple[Operator, Visitor]:  # noqa: F811
    operator = await admin.create_operator()
    visitor = await start_visitor_chat(http, await admin.create_open_channel([operator]))
    await operator.answer(visitor.chat_id)
    return operator, visitor


async def test_an_spa_on_an_allowed_origin_uses_every_route(api, page_port, page_context, admin, http):  # noqa: F811
    operator, visitor = await _chat_with_operator(admin, http)
    page = await _spa(page_context, f"http://127.0.0.1:{page_port}/")
    auth = {"Authorization": f"Bearer {operator.token}"}

    # a JSON POST with the token and every header a GraphQL client sends: preflighted, then read
    posted = await _call(page, api.graphql_url, {"method": "POST", "headers": {**auth, **CLIENT_HEADERS},
                                                 "body": f'{{"query": "{ME}"}}'})
    assert posted["status"] == 200 and posted["json"]["data"]["me"]["operator"]["id"] == operator.id
    # a query over GET
    got = await _call(page, f"{api.graphql_url}?query={quote(ME)}", {"headers": auth})
    assert got["json"]["data"]["me"]["operator"]["id"] == operator.id

    # an upload (FormData, with Apollo-Require-Preflight); its URL is absolute, on the API server
    uploaded = await page.evaluate("([api, token, chat]) => spa.upload(api, token, chat, 'note.txt', 'hello, SPA')",
                                   [api.base_url, operator.token, visitor.chat_id])
    attachment = uploaded["json"]["data"]["uploadFile"]["attachment"]
    assert uploaded["json"]["data"]["uploadFile"]["userErrors"] == []
    assert attachment["url"].startswith(f"{api.base_url}/files/")
    # ... which the page downloads with its token
    downloaded = await _call(page, attachment["url"], {"headers": auth})
    assert (downloaded["status"], downloaded["text"]) == (200, "hello, SPA")

    # the visitor's signed link (no token: a plain GET) downloads cross-origin too
    await operator.mutate("sendMessage", "message { id }", {"chatId": visitor.chat_id, "text": "here",
                                                            "attachmentIds": [attachment["id"]]}, "SendMessageInput")
    own = await _call(page, api.graphql_url, {
        "method": "POST", "headers": {"Authorization": f"Bearer {visitor.token}", "Content-Type": "application/json"},
        "body": '{"query": "{ visitorChat { lastMessage { attachments { url } } } }"}'})
    link = own["json"]["data"]["visitorChat"]["lastMessage"]["attachments"][0]["url"]
    assert link.startswith(f"{api.base_url}/files/") and "signature=" in link
    assert (await _call(page, link))["text"] == "hello, SPA"

    # the WebSocket: the page gets data, and URLs built on the handshake's address
    over_ws = await page.evaluate(
        "([url, token, query]) => spa.websocket(url, token, query)",
        [api.ws_url, operator.token,
         f'{{ node(id: "{attachment["id"]}") {{ ... on Attachment {{ url }} }} me {{ operator {{ id }} }} }}'])
    assert over_ws["data"]["me"]["operator"]["id"] == operator.id
    assert over_ws["data"]["node"]["url"] == attachment["url"]


async def test_early_refusals_are_readable_by_the_page(api, page_port, page_context, admin, http):  # noqa: F811
    """413, 414, 401 (an upload without a token) and 429's Retry-After: answered before any
    operation ran, still with the CORS headers, or the page would only see "Failed to fetch"."""
    operator, visitor = await _chat_with_operator(admin, http)
    page = await _spa(page_context, f"http://127.0.0.1:{page_port}/")
    json_post = {"method": "POST", "headers": {"Content-Type": "application/json"}}

    too_large = await _call(page, api.graphql_url, {**json_post, "body": '{"query": "{ __typename }", "x": "'
                                                    + "a" * 5000 + '"}'})
    assert too_large["status"] == 413 and too_large["json"]["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    too_long = await _call(page, f"{api.graphql_url}?query={'a' * 5000}")
    assert too_long["status"] == 414 and too_long["json"]["errors"][0]["extensions"]["code"] == "URI_TOO_LONG"
    big_upload = await page.evaluate("([api, token, chat]) => spa.upload(api, token, chat, 'big.txt', 'x'.repeat(70000))",
                                     [api.base_url, operator.token, visitor.chat_id])
    assert big_upload["status"] == 413
    anonymous_upload = await page.evaluate("([api, chat]) => spa.upload(api, null, chat, 'a.txt', 'hi')",
                                           [api.base_url, visitor.chat_id])
    assert anonymous_upload["status"] == 401
    assert anonymous_upload["json"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    login = ('{"query": "mutation { login(input: {email: \\"nobody@e2e.test\\", password: \\"x\\"}) '
             '{ token userErrors { code } } }"}')
    await _call(page, api.graphql_url, {**json_post, "body": login})
    limited = await _call(page, api.graphql_url, {**json_post, "body": login})
    assert limited["json"]["data"]["login"]["userErrors"][0]["code"] == "LIMIT_EXCEEDED"
    assert int(limited["retryAfter"]) > 0  # exposed to the page (Access-Control-Expose-Headers)


async def test_a_page_on_an_origin_not_listed_is_blocked(api, page_port, page_context, admin, http,  # noqa: F811
                                                         http_client: httpx.AsyncClient):  # noqa: F811
    operator, _ = await _chat_with_operator(admin, http)
    auth = {"Authorization": f"Bearer {operator.token}"}
    listed = await _spa(page_context, f"http://127.0.0.1:{page_port}/")
    assert (await _call(listed, f"{api.base_url}/healthz"))["json"] == {"status": "ok"}  # the listed origin reads it
    page = await _spa(page_context, f"http://localhost:{page_port}/")  # localhost is not 127.0.0.1: not listed
    posted = await _call(page, api.graphql_url, {"method": "POST", "headers": {**auth, "Content-Type": "application/json"},
                                                 "body": f'{{"query": "{ME}"}}'})
    assert "rejected" in posted, posted
    assert "rejected" in await _call(page, f"{api.base_url}/healthz")  # even a simple GET: unreadable
    refused_ws = await page.evaluate("([url, token]) => spa.websocket(url, token, '{ __typename }')",
                                     [api.ws_url, operator.token])
    assert "data" not in refused_ws, refused_ws  # the handshake is refused (strawberry's allowed_origins)

    # the server still answers clients that are not browsers (no Origin) ...
    direct = await http_client.post(api.graphql_url, json={"query": ME}, headers=auth)
    assert direct.json()["data"]["me"]["operator"]["id"] == operator.id
    # ... and a page of its own origin
    same_origin = await _call(await _own_page(page_context, api), "/graphql", {
        "method": "POST", "headers": {**auth, "Content-Type": "application/json"}, "body": f'{{"query": "{ME}"}}'})
    assert same_origin["json"]["data"]["me"]["operator"]["id"] == operator.id


async def test_production_allows_no_other_origin_by_default(deployment, page_port, page_context,  # noqa: F811
                                                            admin, http):  # noqa: F811
    operator, _ = await _chat_with_operator(admin, http)
    server = await _server_of(deployment, {"OPENCHANNELS_ENV": "production"})
    try:
        page = await _spa(page_context, f"http://127.0.0.1:{page_port}/")
        posted = await _call(page, server.graphql_url, {
            "method": "POST", "headers": {"Authorization": f"Bearer {operator.token}",
                                          "Content-Type": "application/json"}, "body": f'{{"query": "{ME}"}}'})
        assert "rejected" in posted, posted
        refused_ws = await page.evaluate("([url, token]) => spa.websocket(url, token, '{ __typename }')",
                                         [server.ws_url, operator.token])
        assert "data" not in refused_ws, refused_ws
        # a page served from the server's own origin uses both
        own = await _own_page(page_context, server)
        same_origin = await _call(own, "/graphql", {
            "method": "POST", "headers": {"Authorization": f"Bearer {operator.token}",
                                          "Content-Type": "application/json"}, "body": f'{{"query": "{ME}"}}'})
        assert same_origin["json"]["data"]["me"]["operator"]["id"] == operator.id
        own_ws = await own.evaluate("([url, token]) => spa.websocket(url, token, '{ me { operator { id } } }')",
                                    [server.ws_url, operator.token])
        assert own_ws["data"]["me"]["operator"]["id"] == operator.id
    finally:
        deployment.stop_server(server)


async def test_the_preflight_and_the_headers_a_client_gets(api, page_port, http_client):  # noqa: F811
    """What the browser relies on, header by header (the browser tests above show it is enough)."""
    origin = f"http://127.0.0.1:{page_port}"
    requested = ", ".join(name.lower() for name in [*CLIENT_HEADERS, "Authorization", "Apollo-Require-Preflight"])
    for path in ("/graphql", "/files/1"):
        preflight = await http_client.options(f"{api.base_url}{path}", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": requested})
        assert preflight.status_code == 200  # was 405 on /graphql
        assert preflight.headers["access-control-allow-origin"] == origin
        assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "OPTIONS"}
        assert preflight.headers["access-control-max-age"] == "321"  # CORS_MAX_AGE_SECONDS
        assert "Origin" in preflight.headers["vary"]
        assert "access-control-allow-credentials" not in preflight.headers  # bearer tokens, no cookies
    # an origin written differently in the setting (https://app.example.com) matches as browsers send it
    listed = await http_client.post(api.graphql_url, json={"query": "{ __typename }"},
                                    headers={"Origin": "https://app.example.com"})
    assert listed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert {"retry-after", "x-request-id"} <= {
        name.strip().lower() for name in listed.headers["access-control-expose-headers"].split(",")}
    assert "Origin" in listed.headers["vary"]
    # an origin not listed gets no grant (and the answer still varies by Origin, for caches)
    stranger = await http_client.post(api.graphql_url, json={"query": "{ __typename }"},
                                      headers={"Origin": "https://evil.example"})
    assert stranger.status_code == 200 and "access-control-allow-origin" not in stranger.headers
    assert "Origin" in stranger.headers["vary"]
    refused = await http_client.options(api.graphql_url, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in refused.headers
