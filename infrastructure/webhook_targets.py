"""Where an outbound webhook may POST: the one place its URL and the addresses it resolves to are
checked, when the webhook is made and again before every delivery (a name may resolve elsewhere
later).

Only http(s) URLs with a host. By default no address the name resolves to may be loopback,
link-local, private, reserved, multicast or unspecified (this server's own network is no
webhook's business): WEBHOOK_ALLOW_PRIVATE=true lifts that (a receiver on the same network, the
tests). Names are resolved with the event loop's getaddrinfo, so a check never blocks the loop.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class RefusedTarget(Exception):
    """The URL is not one a webhook may POST to (the message says why)."""


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_loopback or address.is_link_local or address.is_private or address.is_reserved
                or address.is_multicast or address.is_unspecified or not address.is_global)


@dataclass(frozen=True)
class WebhookTargets:
    """The rule for webhook URLs; `allow_private`: WEBHOOK_ALLOW_PRIVATE."""

    allow_private: bool = False

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

    async def check(self, url: str) -> None:
        """Raises RefusedTarget unless a webhook may POST to `url` now."""
        host = self.check_form(url)
        if self.allow_private:
            return
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = {literal}
        else:
            try:
                found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as error:
                raise RefusedTarget(f"The host {host} does not resolve: {error}.")
            addresses = {ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found}
        refused = sorted(str(a) for a in addresses if not _is_public(a))
        if refused:
            raise RefusedTarget(f"The host {host} resolves to a loopback, link-local or private address "
                                f"({', '.join(refused)}); set WEBHOOK_ALLOW_PRIVATE=true to allow it.")
