"""The server's public address: the base every URL the API returns is built on.

A client on another origin (an SPA, a mobile app) cannot use `/files/1`: it needs the server's
address in front. That address is PUBLIC_URL when set (the one to set in production: a proxy
may present the server under another name or scheme). Unset, it is the request's own: its
scheme and `Host`, or behind TRUSTED_PROXY_HOPS proxies the `X-Forwarded-Proto` and
`X-Forwarded-Host` the outermost trusted one wrote (openchannels/forwarded.py, the rule the
client's address follows too). Over a WebSocket it is the handshake's (`wss` is `https`).

A `Host` a client made up only comes back to that client, in the answer to its own request;
one that is not a host name (a path, a user, spaces) is not used: the TCP address the server
was reached at is used instead.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from openchannels.forwarded import trusted_forwarded

#: the scheme of the URLs given to a client reached over each transport
_HTTP_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_DEFAULT_PORT = {"http": 80, "https": 443}
#: a host name or address, with an optional port: what a Host header may be
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::[0-9]{1,5})?")


def check_public_url(value: str) -> str:
    """PUBLIC_URL without its trailing slash; ValueError unless it is http(s)://host[:port][/path]."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ValueError(f"PUBLIC_URL={value!r}: expected the server's address, like https://chat.example.com")
    return value.rstrip("/")


def public_base(request: Any, public_url: str, trusted_proxy_hops: int) -> str:
    """`scheme://host[:port]` (or PUBLIC_URL) of the server as the caller of `request` reaches it;
    "" when nothing says (a test without a request): the URLs then stay relative."""
    if public_url:
        return public_url
    if request is None:
        return ""
    headers = request.headers
    scope = request.scope
    scheme = _HTTP_SCHEME.get(scope.get("scheme", "http"), "http")
    host = None
    if trusted_proxy_hops > 0:
        forwarded_scheme = trusted_forwarded(headers.get("x-forwarded-proto"), trusted_proxy_hops) or ""
        scheme = _HTTP_SCHEME.get(forwarded_scheme.lower(), scheme)
        host = trusted_forwarded(headers.get("x-forwarded-host"), trusted_proxy_hops)
    host = host or headers.get("host")
    if host is None or not _HOST.fullmatch(host):
        server = scope.get("server")
        if not server:
            return ""
        address, port = server
        address = f"[{address}]" if ":" in address else address
        host = address if port is None or port == _DEFAULT_PORT[scheme] else f"{address}:{port}"
    return f"{scheme}://{host}"
