"""The request context: who is calling, and the per-request loaders."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from infrastructure.platform import Platform
from resolvers.chats.loaders import Loaders
from services.common.errors import DomainError, Unauthenticated
from services.identity.live_tokens import LiveTokens
from services.identity.rate_limits import IpLimits
from services.identity.viewer import ANONYMOUS, Viewer


class Context:
    def __init__(self, request: Any = None, response: Any = None, viewer: Viewer = ANONYMOUS,
                 auth_error: str | None = None, platform: Platform | None = None) -> None:
        self.request = request
        self._platform = platform
        self.response = response
        #: the WebSocket connection_init payload (set by Strawberry)
        self.connection_params: dict[str, Any] | None = None
        self._viewer = viewer
        self.auth_error = auth_error
        self._loaders: Loaders | None = None
        #: a refusal for the whole request (e.g. the token's rate limit): raised on first use of the viewer
        self.refusal: DomainError | None = None
        #: the request's rate limits (an IpLimits: openchannels/rate_limits.RequestLimits); None: no limits
        self.rate_limits: IpLimits | None = None
        #: the application's live tokens (services/identity/live_tokens.py), handed in by the app;
        #: None: no WebSocket connections to re-check (a test's context)
        self.live_tokens: LiveTokens | None = None
        #: when the WebSocket's token expires (None: never); set by authenticate_as
        self.token_expires_at: datetime | None = None
        #: the Authorization value the caller sent (`logout` revokes its token)
        self.authorization: str | None = None
        #: the SHA-256 of the WebSocket's token, if it sent one; set by authenticate_as
        self.token_digest: str | None = None
        #: a WebSocket's token as the periodic re-check last read it (services/identity/live_tokens.py):
        #: the viewer comes from it, so a role change or a revocation reaches every event
        self._live_token: Any = None
        #: finds `scheme://host` of the server as this caller reaches it (openchannels/public_url.py),
        #: on first use: most requests return no URL. None: unknown (a test), URLs stay relative
        self.public_url_source: Callable[[], str] | None = None
        self._public_url: str | None = None
        #: an operator's WebSocket in the presence tables (services/chats/server_presence.py
        #: `HeldConnection`), from its connection_init until it closes; None: not counted
        self.presence_connection: Any = None

    @property
    def viewer(self) -> Viewer:
        """The caller; a request that sent a bad token gets UNAUTHENTICATED on first use."""
        if self.auth_error:
            raise Unauthenticated(self.auth_error)
        if self.refusal is not None:
            raise self.refusal
        if self._live_token is not None:
            return self._live_token.current_viewer()  # UNAUTHENTICATED once the token is revoked
        return self._viewer

    def authenticate_as(self, viewer: Viewer, expires_at: datetime | None = None,
                        token_digest: str | None = None) -> None:
        """The WebSocket's caller, from connection_init; `expires_at`: when its token expires."""
        self._viewer, self.auth_error = viewer, None
        self.token_expires_at = expires_at
        self.token_digest = token_digest
        self._loaders = None

    async def check_ip_limit(self, rule_name: str) -> None:
        """Count this call against the client IP's budget of the rule (no limits: nothing)."""
        if self.rate_limits is not None:
            await self.rate_limits.check_ip(rule_name)

    def tokens_revoked(self) -> None:
        """Tokens were revoked in this process: live WebSocket connections are re-checked now."""
        if self.live_tokens is not None:
            self.live_tokens.recheck_soon()

    def follow(self, live_token: Any) -> None:
        """From now on the viewer is the one `live_token` holds (a WebSocket's, re-checked)."""
        self._live_token = live_token

    @property
    def platform(self) -> Platform:
        """The outside services (infrastructure/platform.py): the app's, or the one a test built.
        A resolver passes the part a use case needs (`platform.files`, `platform.gifs`...)."""
        if self._platform is None:
            raise RuntimeError("this request has no platform: build the Context with platform=...")
        return self._platform

    @property
    def public_url(self) -> str:
        if self._public_url is None:
            self._public_url = self.public_url_source() if self.public_url_source is not None else ""
        return self._public_url

    def absolute_url(self, url: str) -> str:
        """Every URL the API returns goes through here: a path on this server (`/files/1`) gets
        the caller's public address in front; an address elsewhere (`https://...`) is kept."""
        if url.startswith("/") and not url.startswith("//"):
            return self.public_url + url
        return url

    @property
    def loaders(self) -> Loaders:
        """Made on first use: a WebSocket connection's context never uses its own (each event
        brings fresh loaders), and some twenty DataLoaders per idle connection add up. Made
        again when the viewer changed (a WebSocket's token re-checked: services/identity/live_tokens.py)."""
        if self._live_token is None:
            if self._loaders is None:
                self._loaders = Loaders(self._viewer)
            return self._loaders
        viewer = self.viewer
        if self._loaders is None or (self._loaders.viewer is not viewer and self._loaders.viewer != viewer):
            self._loaders = Loaders(viewer)
        return self._loaders

    @loaders.setter
    def loaders(self, loaders: Loaders) -> None:
        self._loaders = loaders
