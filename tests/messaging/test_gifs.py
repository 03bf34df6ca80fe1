"""searchGifs: the built-in catalog, and the Giphy adapter against a local fake Giphy server."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from dataclasses import replace

from infrastructure.gif_providers import GiphyProvider
from infrastructure.platform import Platform
from services.messaging import gifs
from services.common.errors import Forbidden
from tests.factories import make_admin, make_operator
from tests.graphql.helpers import execute

SEARCH = "query($q: String!, $l: Int) { searchGifs(query: $q, limit: $l) { id title url previewUrl } }"


@pytest.fixture
def catalog(platform: Platform) -> Platform:
    """The test's platform, searching the built-in catalog."""
    return replace(platform, gifs=gifs.CatalogGifProvider())


async def test_catalog_finds_admin_gifs_by_tag_and_title(db, catalog):
    _, admin = await make_admin()
    _, me = await make_operator()
    await gifs.add_catalog_gif(admin, title="Happy dance", url="https://cdn.test/dance.gif", tags=["Party", "joy"])
    await gifs.add_catalog_gif(admin, title="Thank you", url="https://cdn.test/thanks.gif",
                               preview_url="https://cdn.test/thanks-small.gif", tags=["gratitude"])
    assert [g["title"] for g in (await execute(SEARCH, me, platform=catalog, q="party"))["searchGifs"]] == ["Happy dance"]
    found = (await execute(SEARCH, me, platform=catalog, q="thank"))["searchGifs"]
    assert found == [{"id": found[0]["id"], "title": "Thank you", "url": "https://cdn.test/thanks.gif",
                      "previewUrl": "https://cdn.test/thanks-small.gif"}]
    assert (await execute(SEARCH, me, platform=catalog, q="happy joy", l=1))["searchGifs"][0]["title"] == "Happy dance"
    assert (await execute(SEARCH, me, platform=catalog, q="cats"))["searchGifs"] == []
    with pytest.raises(Forbidden):
        await gifs.add_catalog_gif(me, title="x", url="https://cdn.test/x.gif")


class FakeGiphy:
    """A local HTTP server answering like Giphy's search, or hanging until released."""

    def __init__(self) -> None:
        self.hang = False
        self.release = threading.Event()
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(parse_qs(urlsplit(self.path).query))
                if fake.hang:
                    fake.release.wait(10)
                body = json.dumps({"data": [{"id": "abc", "title": "Cat typing", "images": {
                    "original": {"url": "https://media.giphy.test/abc.gif"},
                    "fixed_height_small": {"url": "https://media.giphy.test/abc-small.gif"}}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/gifs/search"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def giphy(platform: Platform):
    fake = FakeGiphy()
    fake.platform = replace(platform, gifs=GiphyProvider("test-key", fake.url, timeout_seconds=0.3))
    yield fake
    fake.close()


async def test_giphy_adapter_maps_results_and_sends_the_key(db, giphy):
    _, me = await make_operator()
    found = (await execute(SEARCH, me, platform=giphy.platform, q="cat", l=5))["searchGifs"]
    assert found == [{"id": "giphy:abc", "title": "Cat typing", "url": "https://media.giphy.test/abc.gif",
                      "previewUrl": "https://media.giphy.test/abc-small.gif"}]
    assert giphy.requests == [{"api_key": ["test-key"], "q": ["cat"], "limit": ["5"], "rating": ["g"]}]


async def test_giphy_timeout_answers_empty_with_a_warning(db, giphy, caplog):
    _, me = await make_operator()
    giphy.hang = True
    with caplog.at_level(logging.WARNING, logger="openchannels.gifs"):
        assert (await execute(SEARCH, me, platform=giphy.platform, q="cat"))["searchGifs"] == []
    assert "Giphy search failed" in caplog.text


async def test_giphy_unreachable_answers_empty(db, platform, caplog):
    unreachable = replace(platform, gifs=GiphyProvider("k", "http://127.0.0.1:9/nothing", timeout_seconds=0.3))
    _, me = await make_operator()
    assert (await execute(SEARCH, me, q="cat", platform=unreachable))["searchGifs"] == []


async def test_commands_and_smileys_are_listed(db):
    _, me = await make_operator()
    data = await execute("{ messageCommands { command description example } smileys { code emoji name } }", me)
    assert {c["command"] for c in data["messageCommands"]} >= {"[b]", "[i]", "[u]", "[s]", "[quote]", "[code]",
                                                               "[url]", "/me"}
    assert {"code": ":)", "emoji": "🙂", "name": "slightly smiling face"} in data["smileys"]


ADD = """mutation($t: String!, $u: String!, $tags: [String!]) {
  addGif(input: {title: $t, url: $u, tags: $tags}) { gif { id title url previewUrl } userErrors { code field } } }"""


async def test_an_admin_adds_a_gif_through_the_api_and_operators_find_it(db, catalog):
    _, admin = await make_admin()
    _, me = await make_operator()

    refused = await execute(ADD, me, t="Thumbs up", u="https://cdn.test/up.gif", tags=["ok"])
    assert refused["addGif"] == {"gif": None, "userErrors": [{"code": "FORBIDDEN", "field": None}]}
    bad = await execute(ADD, admin, t="Thumbs up", u="javascript:alert(1)", tags=["ok"])
    assert bad["addGif"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "url"]}]

    added = (await execute(ADD, admin, t="Thumbs up", u="https://cdn.test/up.gif", tags=["OK", "yes"]))["addGif"]
    assert added["userErrors"] == [] and added["gif"]["previewUrl"] == "https://cdn.test/up.gif"
    found = (await execute(SEARCH, me, platform=catalog, q="ok", l=5))["searchGifs"]
    assert [g["id"] for g in found] == [added["gif"]["id"]]
