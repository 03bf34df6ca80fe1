"""The operator console's page and built files: at /console in development, in production only with
CONSOLE_ENABLED, its files at their content hash (cached for good), a strict CSP, small; the console
at work in a real browser: tests/browser/test_console.py. `.ci/run` rebuilds console/ and compares."""
from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from infrastructure.settings import Settings
from openchannels.app import create_app
from openchannels.console import page

#: what an operator's browser downloads, gzipped (the console is an example: it stays small)
MAX_GZIPPED_BYTES = 30 * 1024


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(settings))  # no lifespan: no database
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as served:
        yield served


@pytest.fixture
async def development() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(Settings(env="development")):
        yield client


@pytest.mark.parametrize(("env", "enabled", "served"), [
    ("development", None, True), ("production", None, False), ("production", True, True),
    ("development", False, False)])
async def test_console_is_served_in_development_and_in_production_only_when_enabled(env, enabled, served):
    async for client in _client(Settings(env=env, console_enabled=enabled)):
        answer = await client.get("/console")
        assert answer.status_code == (200 if served else 404)
        script = await client.get(f"/console/{page.built('js').name}")
        assert script.status_code == (200 if served else 404)


@pytest.mark.parametrize(("value", "expected"), [("", None), ("true", True), ("1", True), ("false", False),
                                                 ("off", False)])
def test_console_enabled_setting(monkeypatch, value, expected):
    monkeypatch.setenv("CONSOLE_ENABLED", value)
    monkeypatch.setenv("OPENCHANNELS_ENV", "production")
    settings = Settings()
    assert settings.console_enabled is expected
    assert settings.serves_console is bool(expected)


async def test_the_page_loads_the_hashed_files_under_a_strict_csp(development):
    answer = await development.get("/console")
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-cache"
    csp = answer.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "default-src 'none'" in csp
    html = answer.text
    assert "<style" not in html and "style=" not in html
    assert re.findall(r"<script[^>]*>([^<]*)</script>", html) == [""]  # no inline script
    for suffix, media in (("js", "text/javascript"), ("css", "text/css")):
        built = page.built(suffix)
        assert f'"console/{built.name}"' in html
        served = await development.get(f"/console/{built.name}")
        assert served.status_code == 200
        assert served.headers["content-type"].startswith(media)
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert served.content == (page.HERE / f"console.{suffix}").read_bytes()
        assert built.digest == hashlib.sha256(served.content).hexdigest()[:16]


async def test_another_hash_or_kind_is_not_found(development):
    assert (await development.get("/console/console.0123456789abcdef.js")).status_code == 404
    assert (await development.get(f"/console/console.{page.built('js').digest}.html")).status_code == 404


def test_the_console_is_small():
    body = (page.HERE / "console.js").read_bytes() + (page.HERE / "console.css").read_bytes()
    assert len(gzip.compress(body, compresslevel=9)) < MAX_GZIPPED_BYTES
