"""Who may keep a WebSocket open: at most WS_MAX_CONNECTIONS_PER_IP per client address, and an
anonymous connection only while it uses it.

- **Connections per IP.** Each server process counts the WebSockets open from each client IP
  (the address of openchannels/rate_limits.py's `client_ip`: the TCP peer, or the one
  TRUSTED_PROXY_HOPS proxies saw). The connection over the limit is accepted and closed at once
  with 1013 "Try Again Later", before it reads anything: graphql-ws clients retry 1013 with
  their back-off, where 4429 would make them give up for good, and a client behind a shared
  address gets in again as soon as another connection from there closes. The count is per
  process: behind N processes an address may hold up to N times the limit.
- **Idle anonymous connections.** A connection whose connection_init carried no token, and
  which runs no operation for WS_ANONYMOUS_IDLE_SECONDS, is closed with 1000 (a normal close: a
  lazy graphql-ws client reconnects when it next needs to). A connection with a token (operator
  or visitor) is kept: it is bounded by its token's expiry and rate limit.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable

#: the standard "Try Again Later" close code
CLOSE_TOO_MANY_FROM_ADDRESS = 1013
CLOSE_IDLE = 1000


class ConnectionsPerIP:
    """This process's open WebSockets per client IP (only addresses with one open are kept)."""

    def __init__(self, limit: int) -> None:
        #: 0: no limit
        self.limit = limit
        self._open: dict[str, int] = {}

    def admit(self, ip: str) -> bool:
        """Count one more connection from `ip`; False (nothing counted) when it is at the limit."""
        count = self._open.get(ip, 0)
        if self.limit > 0 and count >= self.limit:
            return False
        self._open[ip] = count + 1
        return True

    def release(self, ip: str) -> None:
        count = self._open.get(ip, 0) - 1
        if count > 0:
            self._open[ip] = count
        else:
            self._open.pop(ip, None)

    def open_from(self, ip: str) -> int:
        return self._open.get(ip, 0)


class IdleWatch:
    """Calls `close` once the connection has run no operation for `seconds`.

    `running()` says whether an operation runs now; `touch()` is called when one starts. The
    watch looks again every time the idle period could have ended, so it closes at least
    `seconds` and at most twice that after the last operation ended."""

    def __init__(self, seconds: float, running: Callable[[], bool], close: Callable[[], Any]) -> None:
        self._seconds = seconds
        self._running = running
        self._close = close
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._timer = self._loop.call_later(seconds, self._check)

    def touch(self) -> None:
        self._last = self._loop.time()

    def _check(self) -> None:
        now = self._loop.time()
        if self._running():
            self._last = now
        elif now - self._last >= self._seconds * 0.999:  # call_later may fire a hair early
            self._close()
            return
        self._timer = self._loop.call_later(self._last + self._seconds - now, self._check)

    def cancel(self) -> None:
        self._timer.cancel()
