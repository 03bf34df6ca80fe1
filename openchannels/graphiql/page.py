"""The GraphiQL page (GET /graphql from a browser) and its files under /graphiql/static/.

Each file is served at `/graphiql/static/<first 16 hex digits of its sha256>/<name>`, cached for
a year as immutable: a new build is a new URL, so a browser never mixes an old React with a new
GraphiQL. The page links them relative to itself, so a proxy that mounts the server under a
path prefix keeps working. The page itself is not cached and carries a Content-Security-Policy that lets it load
scripts, styles and connections from this server only (GraphiQL's inline style attributes and
its data: fonts aside).
"""
from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
PREFIX = "/graphiql/static"

#: the default Headers tab: where the token goes
DEFAULT_HEADERS = '{"Authorization": "Bearer oc_..."}'

IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",  # React and CodeMirror set style attributes
    "font-src 'self' data:",  # graphiql.min.css embeds its fonts
    "img-src 'self' data:",
    "connect-src 'self'",  # the endpoint over HTTP and WebSocket
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])

#: what the page loads, in order
STYLES = ("graphiql.min.css",)
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "page.js")
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    digest: str

    @property
    def url(self) -> str:
        """Relative to the page (/graphql)."""
        return f"{PREFIX.lstrip('/')}/{self.digest}/{self.name}"


@cache
def assets() -> dict[str, Asset]:
    """Every file the page loads, read once per process (about 1.5 MB)."""
    found = {}
    for name in STYLES + SCRIPTS:
        body = (HERE / name if name == "page.js" else STATIC / name).read_bytes()
        found[name] = Asset(name, body, hashlib.sha256(body).hexdigest()[:16])
    return found


@cache
def page_html() -> str:
    defaults = {"query": (HERE / "example.graphql").read_text(), "headers": DEFAULT_HEADERS}
    # JSON inside <script type="application/json"> (data, never run): only "</" could end it early
    data = json.dumps(defaults).replace("</", "<\\/")
    styles = "".join(f'\n<link rel="stylesheet" href="{html.escape(assets()[n].url)}">' for n in STYLES)
    scripts = "".join(f'\n<script src="{html.escape(assets()[n].url)}"></script>' for n in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Open Channels GraphiQL</title>
<link rel="icon" href="data:,">{styles}
</head>
<body style="margin:0">
<div id="graphiql" style="height:100vh">Loading GraphiQL…</div>
<script type="application/json" id="graphiql-defaults">{data}</script>{scripts}
</body>
</html>
"""


def graphiql_page(request: Request) -> Response:
    return HTMLResponse(page_html(), headers={
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    })


async def static_file(request: Request) -> Response:
    asset = assets().get(request.path_params["name"])
    if asset is None or asset.digest != request.path_params["digest"]:
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(asset.body, media_type=CONTENT_TYPES[Path(asset.name).suffix], headers={
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
    })


def graphiql_static_route() -> Route:
    return Route(PREFIX + "/{digest}/{name}", static_file, methods=["GET"])
