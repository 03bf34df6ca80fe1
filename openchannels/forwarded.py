"""What the trusted reverse proxies in front of the server say about a request.

Behind TRUSTED_PROXY_HOPS proxies that each append to an `X-Forwarded-*` header, the value to
believe is the one the outermost trusted proxy wrote: the `hops`-th from the right. Values
further left were written by the client and are never trusted; with no trusted proxy
(`hops` 0) the headers are ignored altogether. The client's address (openchannels/rate_limits.py)
and the server's public address (openchannels/public_url.py) follow this one rule.
"""
from __future__ import annotations


def trusted_forwarded(value: str | None, trusted_proxy_hops: int) -> str | None:
    """The value of an `X-Forwarded-*` header the trusted proxies vouch for, or None."""
    if trusted_proxy_hops <= 0 or not value:
        return None
    hops = [part.strip() for part in value.split(",") if part.strip()]
    if len(hops) >= trusted_proxy_hops:
        return hops[-trusted_proxy_hops]
    return hops[0] if hops else None
