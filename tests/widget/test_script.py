"""The chat widget's one file: served at /widget.js (revalidated) and at its content hash (cached for
good), in production too, small, and built from widget/ (`.ci/run` rebuilds it and compares; the
widget at work in a real browser: tests/browser/test_widget.py)."""
from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from infrastructure.settings import Settings
from openchannels.app import create_app
from openchannels.widget import script

REPO_ROOT = Path(__file__).resolve().parents[2]
WIDGET_SOURCES = REPO_ROOT / "widget"
#: the issue's budget for what a site's visitor downloads
MAX_GZIPPED_BYTES = 30 * 1024


@pytest_asyncio.fixture(params=["development", "production"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(Settings(env=request.param)))  # no lifespan: no database
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as served:
        yield served


def test_the_widget_is_under_30_kb_gzipped():
    body = script.WIDGET.read_bytes()
    assert len(gzip.compress(body, compresslevel=9)) < MAX_GZIPPED_BYTES


async def test_widget_js_is_the_built_file_revalidated_on_every_use(client: httpx.AsyncClient):
    answer = await client.get("/widget.js")

    assert answer.status_code == 200
    assert answer.content == script.WIDGET.read_bytes()
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    digest = hashlib.sha256(answer.content).hexdigest()[:16]
    assert answer.headers["etag"] == f'"{digest}"'

    again = await client.get("/widget.js", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = await client.get("/widget.js", headers={"If-None-Match": '"0000000000000000"'})
    assert other.status_code == 200 and other.content == answer.content


async def test_the_content_hashed_url_is_cached_for_a_year_and_only_for_this_build(client: httpx.AsyncClient):
    digest = hashlib.sha256(script.WIDGET.read_bytes()).hexdigest()[:16]

    answer = await client.get(f"/widget.{digest}.js")
    assert answer.status_code == 200 and answer.content == script.WIDGET.read_bytes()
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.script().hashed_path == f"/widget.{digest}.js"

    stale = await client.get("/widget.0123456789abcdef.js")  # an older build's URL
    assert stale.status_code == 404


def test_the_sources_build_with_exact_versions_from_a_lockfile():
    """Reproducible: every dependency pinned exactly, the lockfile committed (CI: `npm ci`, then a
    build compared with the committed file byte for byte)."""
    package = json.loads((WIDGET_SOURCES / "package.json").read_text())
    pinned = {**package["dependencies"], **package["devDependencies"]}
    assert "graphql-ws" in package["dependencies"] and "esbuild" in package["devDependencies"]
    assert all(version[0].isdigit() for version in pinned.values()), pinned  # no ^ or ~
    lock = json.loads((WIDGET_SOURCES / "package-lock.json").read_text())
    assert {name: lock["packages"][f"node_modules/{name}"]["version"] for name in pinned} == pinned
    built_banner = script.WIDGET.read_text().splitlines()[0]
    assert "npm --prefix widget ci && npm --prefix widget run build" in built_banner
