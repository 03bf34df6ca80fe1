"""A real headless Chromium (Debian's `chromium`), driven by Playwright, for what a browser does.

Playwright's Python package brings its driver; the browser is the system's (no browser
download): `.ci/run` installs Debian's `chromium` when it is missing. Without it these tests
fail with a clear message rather than skip, as PostgreSQL and Redis do.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, async_playwright

#: Debian's Chromium; CHROMIUM_PATH points elsewhere
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
#: as the workplace's probe runs it: no sandbox (root), and nothing reaching out to the network by itself
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (or set CHROMIUM_PATH)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture
async def page_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile per test: no cookies, storage or cache shared between tests."""
    context = await browser.new_context()
    try:
        yield context
    finally:
        await context.close()
