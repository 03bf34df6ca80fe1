"""Where an outbound webhook may POST: the one place its URL and the addresses it resolves to are
checked, when the webhook is made and again before every delivery (a name may resolve elsewhere
later).

Only http(s) URLs with a host. By default no address the name resolves to may be loopback,
link-local, private, reserved, multicast or unspecified (this server's own network is no
webhook's business): WEBHOOK_ALLOW_PRIVATE=true lifts that (a receiver on the same network, the
tests). Names are resolved with the event loop's getaddrinfo, so a check never blocks the loop.

A check returns the `Destination` to POST to: the URL with the checked address in place of the
name, the name as the Host header and, over https, as the TLS server name (SNI and the
certificate's check). The POST never resolves the name again, so a name that answers a public
address to the check and a private one a moment later (DNS rebinding) still reaches only the
address that was checked.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(Exception):
    """The URL is not one a webhook may POST to (the message says why)."""


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_loopback or address.is_link_local or address.is_private or address.is_reserved
                or address.is_multicast or address.is_unspecified or not address.is_global)


async def _getaddrinfo(host: str) -> list[str]:
    found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


@dataclass(frozen=True)
class Destination:
    """Where one round of POSTs goes: `url` names the checked address, not the host."""

    url: str
    #: the URL's host (and port when it has one), sent as the Host header
    host_header: str
    #: https: the name the receiver's certificate must carry (httpcore's `sni_hostname`); None over http
    server_name: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"host": self.host_header}

    @property
    def extensions(self) -> dict[str, Any]:
        return {"sni_hostname": self.server_name} if self.server_name else {}


@dataclass(frozen=True)
class WebhookTargets:
    """The rule for webhook URLs; `allow_private`: WEBHOOK_ALLOW_PRIVATE; `resolve`: a name's
    addresses (the event loop's getaddrinfo; a test gives its own)."""

    allow_private: bool = False
    resolve: Callable[[str], Awaitable[list[str]]] = field(default=_getaddrinfo, compare=False, repr=False)

    @staticmethod
    def check_form(url: str) -> str:
        """The host of an http(s) URL (no resolution); RefusedTarget for anything else."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError:
            raise RefusedTarget("Give an http(s) URL.")
        if parts.scheme not in ("http", "https") or not host:
            raise RefusedTarget("Give an http(s) URL.")
        return host

    async def check(self, url: str) -> Destination:
        """Where to POST for `url` now; RefusedTarget unless a webhook may POST there."""
        host = self.check_form(url)
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                found = await self.resolve(host)
            except (OSError, UnicodeError) as error:  # socket.gaierror is an OSError
                raise RefusedTarget(f"The host {host} does not resolve: {error}.")
            addresses = list(dict.fromkeys(ipaddress.ip_address(a.partition("%")[0]) for a in found))
            if not addresses:
                raise RefusedTarget(f"The host {host} does not resolve.")
        refused = sorted(str(a) for a in addresses if not _is_public(a))
        if refused and not self.allow_private:
            raise RefusedTarget(f"The host {host} resolves to a loopback, link-local or private address "
                                f"({', '.join(refused)}); set WEBHOOK_ALLOW_PRIVATE=true to allow it.")
        # one address for the round: IPv4 first (a receiver on both listens there at least), else as resolved
        return _pinned(url, min(addresses, key=lambda a: a.version))


def _pinned(url: str, address: Address) -> Destination:
    """`url` with `address` in place of its host."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    shown = f"[{address}]" if address.version == 6 else str(address)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + shown + (f":{port}" if port is not None else "")
    named = f"[{host}]" if ":" in host else host
    return Destination(url=urlunsplit(parts._replace(netloc=netloc)),
                       host_header=named + (f":{port}" if port is not None else ""),
                       server_name=host if parts.scheme == "https" and ":" not in host else None)
