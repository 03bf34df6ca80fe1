"""Live WebSocket connections follow what the database says about their token.

A connection is authenticated once, at connection_init, and may stay open for hours. HTTP
requests see a deleted token or a changed role within TOKEN_CACHE_SECONDS (services/identity/auth.py);
so must a connection. Every `period` seconds (`recheck_period`: TOKEN_CACHE_SECONDS, or 1 s
when it is 0) this process reads every token its live connections were opened with, a few
statements whatever their number (services/auth.current_viewers), and:

- a token gone (deleted by hand, revoked by `logout` or `revokeOperatorTokens`) or expired:
  every connection opened with it is closed with 4403, and its viewer is refused from then on
  (UNAUTHENTICATED), so nothing more is authorised for it while the connection closes;
- a token whose viewer changed (an operator's role): the connections' viewer is the new one,
  and every event from then on is authorised for it (resolvers read `context.viewer` per event).

The connections of one token share one `LiveToken`, and their contexts read the viewer from it
(a shared subscription runs in the context of the group's first connection: that context
follows the token, which outlives any one of its connections). A `logout` or
`revokeOperatorTokens` in this process asks for a re-check at once (`recheck_soon`). When the
database cannot be read, nothing changes until the next round.

One `LiveTokens` per application, made at start-up (openchannels/app.py) and handed to the
WebSocket handler and, through the request context, to the resolvers that revoke tokens.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any

from services.identity.auth import ValidTokens, current_viewers, forget_tokens
from services.common.errors import Unauthenticated
from services.identity.viewer import Viewer

log = logging.getLogger("openchannels.live_tokens")

#: the close code for a token that is gone or expired (graphql-ws clients sign in again after it)
CLOSE_TOKEN_REVOKED = 4403
#: how often live connections are re-checked when TOKEN_CACHE_SECONDS is 0 (every HTTP request
#: reads its token; a round of reads per second is the most a process should spend on sockets)
RECHECK_SECONDS_WITHOUT_CACHE = 1.0


def recheck_period(token_cache_seconds: float) -> float:
    return token_cache_seconds if token_cache_seconds > 0 else RECHECK_SECONDS_WITHOUT_CACHE


class LiveToken:
    """One token of live connections: its viewer as last read, and the connections (their
    WebSocket adapters, which `request_close`)."""

    __slots__ = ("digest", "viewer", "revoked", "connections")

    def __init__(self, digest: str, viewer: Viewer) -> None:
        self.digest = digest
        self.viewer = viewer
        #: why the token no longer holds (None: it does)
        self.revoked: str | None = None
        self.connections: set[Any] = set()

    def current_viewer(self) -> Viewer:
        if self.revoked is not None:
            raise Unauthenticated(f"{self.revoked}: sign in again.")
        return self.viewer


class LiveTokens:
    """This process's live tokens, by digest; `trusted`: the process's token cache (the platform's),
    which forgets a token found changed."""

    def __init__(self, trusted: ValidTokens | None = None) -> None:
        self._trusted = trusted
        self._tokens: dict[str, LiveToken] = {}
        self._wake = asyncio.Event()

    def join(self, digest: str, viewer: Viewer, connection: Any) -> LiveToken:
        """A connection just authenticated with this token (read fresh from the database)."""
        token = self._tokens.get(digest)
        if token is None or token.revoked is not None:
            token = self._tokens[digest] = LiveToken(digest, viewer)
        elif token.viewer != viewer:
            token.viewer = viewer
        token.connections.add(connection)
        return token

    def leave(self, token: LiveToken, connection: Any) -> None:
        token.connections.discard(connection)
        if not token.connections and self._tokens.get(token.digest) is token:
            del self._tokens[token.digest]

    def recheck_soon(self) -> None:
        """Re-check now rather than at the end of the period (a token was revoked here)."""
        self._wake.set()

    async def recheck(self) -> None:
        tokens = list(self._tokens.values())
        if not tokens:
            return
        found = await current_viewers([token.digest for token in tokens])
        now = datetime.now(timezone.utc)
        stale: list[str] = []
        for token in tokens:
            current = found.get(token.digest)
            if current is None or (current[1] is not None and current[1] <= now):
                self._revoke(token, "Token revoked" if current is None else "Token expired")
                stale.append(token.digest)
            elif current[0] != token.viewer:
                token.viewer = current[0]
                stale.append(token.digest)
        forget_tokens(self._trusted, stale)  # HTTP requests with them read the database again

    def _revoke(self, token: LiveToken, reason: str) -> None:
        token.revoked = reason
        if self._tokens.get(token.digest) is token:
            del self._tokens[token.digest]
        for connection in list(token.connections):
            connection.request_close(CLOSE_TOKEN_REVOKED, reason)

    async def run(self, period: float, stop: asyncio.Event) -> None:
        """Re-check every `period` seconds (sooner when asked) until `stop` is set."""
        self._wake = asyncio.Event()  # of this loop (a test may run several loops in one process)
        while not stop.is_set():
            self._wake.clear()
            wake, stopped = asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({wake, stopped}, timeout=period, return_when=asyncio.FIRST_COMPLETED)
            finally:
                wake.cancel()
                stopped.cancel()
            if stop.is_set():
                return
            try:
                await self.recheck()
            except Exception as error:  # noqa: BLE001 - e.g. the database is unreachable: next round
                log.warning("live connections' tokens not re-checked (%r); next try in %s s", error, period)

    def __len__(self) -> int:
        return len(self._tokens)

