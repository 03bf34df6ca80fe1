"""GET /graphql from a browser: a page that loads only this server's own files, with the example
operation and the headers skeleton; the files cached for good under their content hash.
Development mode only. (The page at work in a real browser, offline: tests/browser/test_graphiql.py.)"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from graphql import parse, validate

from openchannels.app import create_app
from openchannels.graphiql import page
from infrastructure.settings import Settings
from schema import schema

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def _client(env: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(Settings(env=env)))  # no lifespan: no database needed
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest_asyncio.fixture
async def development() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client("development"):
        yield client


@pytest_asyncio.fixture
async def production() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client("production"):
        yield client


def _links(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', html)


def _defaults(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="graphiql-defaults">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


async def test_the_page_loads_only_files_of_this_server(development: httpx.AsyncClient):
    answer = await development.get("/graphql", headers=BROWSER)

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    links = _links(answer.text)
    assert [link.rsplit("/", 1)[1] for link in links if link.startswith("graphiql/static/")] == \
        list(page.STYLES + page.SCRIPTS)  # relative to /graphql: /graphiql/static/...
    assert [link for link in links if not link.startswith("graphiql/static/")] == ["data:,"]  # the empty icon
    assert "://" not in answer.text  # no absolute URL anywhere: no CDN
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", answer.text) == []  # no inline script


async def test_each_file_is_served_under_its_content_hash_and_cached_for_good(development: httpx.AsyncClient):
    html = (await development.get("/graphql", headers=BROWSER)).text

    for link in _links(html):
        if not link.startswith("graphiql/static/"):
            continue
        link = "/" + link
        digest, name = link.split("/")[-2:]
        answer = await development.get(link)
        assert answer.status_code == 200, link
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["content-type"].startswith("text/css" if name.endswith(".css") else "text/javascript")
        assert answer.content == page.assets()[name].body
        assert hashlib.sha256(answer.content).hexdigest().startswith(digest)

        stale = await development.get(link.replace(digest, "0" * 16))
        assert stale.status_code == 404  # an old page's URL never gets new content under an immutable header
    assert (await development.get("/graphiql/static/0000000000000000/manifest.json")).status_code == 404
    assert (await development.get("/graphiql/static/x/..%2Fpage.py")).status_code == 404


async def test_the_default_tab_is_a_real_operation_that_says_where_the_token_goes(development: httpx.AsyncClient):
    defaults = _defaults((await development.get("/graphql", headers=BROWSER)).text)

    assert defaults["headers"] == '{"Authorization": "Bearer oc_..."}'
    assert json.loads(defaults["headers"]) == {"Authorization": "Bearer oc_..."}
    assert "Headers tab" in defaults["query"] and defaults["headers"] in defaults["query"]
    document = parse(defaults["query"])
    assert validate(schema._schema, document) == []
    assert [d.name.value for d in document.definitions] == ["MyChats", "ChatLine"]


async def test_production_serves_neither_the_page_nor_its_files(production: httpx.AsyncClient,
                                                                 development: httpx.AsyncClient):
    links = ["/" + link for link in _links((await development.get("/graphql", headers=BROWSER)).text)
             if link.startswith("graphiql/")]
    assert links

    assert (await production.get("/graphql", headers=BROWSER)).status_code == 404
    for link in links:
        assert (await production.get(link)).status_code == 404, link
