"""The chat widget's one file, for pages on any origin: `<script src="https://HOST/widget.js" data-open-channel="ID" async>`.

- `/widget.<first 16 hex digits of its sha256>.js`: cached for a year as immutable (a new build
  is a new URL), for sites that pin a build.
- `/widget.js`: the same bytes under a stable name, revalidated on every use (`no-cache` with an
  ETag: a 304 costs no body), so a new server version reaches every site at once.

Both sit at the root beside `/graphql`, which the widget finds relative to its own URL (so a
proxy that mounts the server under a path prefix keeps working). The file is read once per
process. A script loads across origins without CORS (`Cross-Origin-Resource-Policy: cross-origin`
says so explicitly to pages that isolate themselves).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

WIDGET = Path(__file__).resolve().parent / "widget.js"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CONTENT_TYPE = "text/javascript; charset=utf-8"


@dataclass(frozen=True)
class Script:
    body: bytes
    digest: str

    @property
    def hashed_path(self) -> str:
        return f"/widget.{self.digest}.js"

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


@cache
def script() -> Script:
    body = WIDGET.read_bytes()
    return Script(body, hashlib.sha256(body).hexdigest()[:16])


def _answer(request: Request, cache_control: str) -> Response:
    built = script()
    headers = {"Cache-Control": cache_control, "ETag": built.etag, "X-Content-Type-Options": "nosniff",
               "Cross-Origin-Resource-Policy": "cross-origin"}
    if built.etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(built.body, media_type=CONTENT_TYPE, headers=headers)


async def current_widget(request: Request) -> Response:
    return _answer(request, REVALIDATE)


async def hashed_widget(request: Request) -> Response:
    if request.path_params["digest"] != script().digest:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return _answer(request, IMMUTABLE)


def widget_routes() -> list[Route]:
    return [Route("/widget.js", current_widget, methods=["GET", "HEAD"]),
            Route("/widget.{digest}.js", hashed_widget, methods=["GET", "HEAD"])]
