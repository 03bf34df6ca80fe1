"""The operator console at /console: one HTML page, its script and its stylesheet.

- `/console`: the page, revalidated on every use (`no-cache`): it names the built files by their
  content hash, so a new server version reaches every open console on its next load.
- `/console/console.<first 16 hex digits of its sha256>.js` and `.css`: cached for a year as
  immutable (a new build is a new URL).

The page sends a strict Content-Security-Policy of its own: scripts and styles from this server
only, nothing inline, connections (HTTP and WebSocket) to this server only. The console talks to
the public GraphQL API at `../graphql` relative to its script, as any partner's console would.
Served when `Settings.serves_console` (CONSOLE_ENABLED; by default in development only).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
IMMUTABLE = "public, max-age=31536000, immutable"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Built:
    body: bytes
    digest: str
    suffix: str

    @property
    def name(self) -> str:
        return f"console.{self.digest}.{self.suffix}"


@cache
def built(suffix: str) -> Built:
    body = (HERE / f"console.{suffix}").read_bytes()
    return Built(body, hashlib.sha256(body).hexdigest()[:16], suffix)


@cache
def page() -> bytes:
    # relative URLs: /console/console.<digest>.js, also when a proxy mounts the server under a prefix
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Open Channels console</title>"
            f'<link rel="stylesheet" href="console/{built("css").name}">'
            f'<script src="console/{built("js").name}" defer></script>'
            '</head><body><div id="console"></div></body></html>').encode()


async def console_page(request: Request) -> Response:
    return Response(page(), media_type="text/html; charset=utf-8", headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"})


async def console_file(request: Request) -> Response:
    suffix = request.path_params["suffix"]
    if suffix not in TYPES or request.path_params["digest"] != built(suffix).digest:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(built(suffix).body, media_type=TYPES[suffix], headers={
        "Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"})


def console_routes() -> list[Route]:
    return [Route("/console", console_page, methods=["GET", "HEAD"]),
            Route("/console/console.{digest}.{suffix}", console_file, methods=["GET", "HEAD"])]
