"""The platform: every outside service the application uses, made once at start-up and handed in.

One `Platform` holds the event broker, the file storage (with its size limit and link signing),
the GIF provider, the connector transport, the cache of valid tokens and the budget of typing
signals. Nothing of it is a module global: the app builds it from the settings in its lifespan
(`open_platform`), a command or a test builds its own (`Platform.local`, or the constructor with whatever fakes it needs).
It reaches a use case as an argument: the resolvers take it from the request context
(resolvers/context.py) and pass the part a use case needs (`files`, `gifs`, `tokens`...); the
scheduler gets it when it starts.

The broker is the one part that is not passed to each use case: every state change publishes
its events after commit (services/events/events.py `unit_of_work`), so the broker in use is
set for a scope (`Platform.in_use()`: a request, a WebSocket connection, the scheduler's loop,
a command, a test) and read by `unit_of_work` and by subscriptions. Outside such a scope events
are still written (the database is the source of truth) but published to no one.
"""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infrastructure.broker import Broker, LocalBroker, make_broker, publishing_to
from infrastructure.connector_transport import ConnectorTransport, HttpConnectorTransport
from infrastructure.file_storage import S3_EXTRA_MISSING, FileSettings, FileStorage, LocalFileStorage, \
    StorageUnavailable
from infrastructure.gif_providers import GifProvider, GiphyProvider
from infrastructure.settings import Settings
from infrastructure.signals import SignalBudget
from infrastructure.token_cache import TokenCache
from infrastructure.webhook_targets import WebhookTargets


@dataclass(frozen=True)
class Platform:
    #: carries committed events to the subscriptions of every process (infrastructure/broker.py)
    broker: Broker
    #: where uploads are stored, their size limit, how visitor links are signed
    files: FileSettings
    #: GIF search; None: the built-in catalog (services/messaging/gifs.py)
    gifs: GifProvider | None = None
    #: how connector replies are sent to the messengers
    connectors: ConnectorTransport = field(default_factory=HttpConnectorTransport)
    #: where outbound webhooks may POST (WEBHOOK_ALLOW_PRIVATE)
    webhooks: WebhookTargets = field(default_factory=WebhookTargets)
    #: tokens trusted without reading the database (TOKEN_CACHE_SECONDS; 0 by default: none)
    tokens: TokenCache[Any] = field(default_factory=TokenCache)
    #: what each sender may still send of ephemeral signals (typing), counted in this process
    signal_budget: SignalBudget = field(default_factory=SignalBudget)
    #: a waiting visitor's queue position is sent at most this often (QUEUE_POSITION_THROTTLE_SECONDS)
    queue_position_throttle_seconds: float = 2.0

    @classmethod
    def local(cls, files_dir: str | Path, *, max_upload_bytes: int = 25 * 1024 * 1024, url_secret: bytes = b"local",
              url_ttl_seconds: int = 3600, broker: Broker | None = None, gifs: GifProvider | None = None) -> Platform:
        """One process, nothing outside: the in-process broker, uploads in `files_dir`, the GIF catalog."""
        return cls(broker=broker or LocalBroker(),
                   files=FileSettings(LocalFileStorage(files_dir), max_upload_bytes, url_secret, url_ttl_seconds),
                   gifs=gifs)

    def in_use(self) -> AbstractContextManager[Broker]:
        """Use cases run in this scope publish their events to this platform's broker (`as`: the broker)."""
        return publishing_to(self.broker)


def require_storage_package(settings: Settings) -> None:
    """StorageUnavailable (one line, saying what to install) if S3_BUCKET is set without the `[s3]` extra."""
    if not settings.s3_bucket:
        return
    try:
        import aiobotocore.session  # noqa: F401 - optional extra [s3]: only asked whether it is installed
    except ImportError as error:
        raise StorageUnavailable(S3_EXTRA_MISSING) from error


@contextlib.asynccontextmanager
async def open_file_storage(settings: Settings) -> AsyncIterator[FileSettings]:
    """The file storage the settings name: the S3 client is made here, once, and closed on leaving."""
    require_storage_package(settings)
    async with contextlib.AsyncExitStack() as resources:
        storage: FileStorage = LocalFileStorage(settings.files_dir)
        if settings.s3_bucket:
            from infrastructure.s3_storage import S3FileStorage  # needs the optional extra [s3] (aiobotocore)

            storage = await resources.enter_async_context(S3FileStorage.connect(
                bucket=settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                access_key_id=settings.s3_access_key_id, secret_access_key=settings.s3_secret_access_key))
        yield FileSettings.of(settings, storage)


def gif_provider(settings: Settings) -> GifProvider | None:
    """Giphy when GIPHY_API_KEY is set; None (the built-in catalog) otherwise."""
    if not settings.giphy_api_key:
        return None
    return GiphyProvider(settings.giphy_api_key, settings.giphy_api_url, settings.gif_search_timeout_seconds)


@contextlib.asynccontextmanager
async def open_platform(settings: Settings, files: FileSettings,
                        tokens: TokenCache[Any] | None = None) -> AsyncIterator[Platform]:
    """The app's platform while it runs, on the file storage opened before (`open_file_storage`):
    the broker (started), one HTTP client for the connectors; closed on leaving. `tokens`: the
    token cache, when the app made it before (its live-token re-check holds it too)."""
    async with contextlib.AsyncExitStack() as resources:
        connectors = await resources.enter_async_context(HttpConnectorTransport.connect())
        broker = make_broker(settings)
        await broker.start()
        resources.push_async_callback(broker.stop)
        yield Platform(broker=broker, files=files, gifs=gif_provider(settings),
                       connectors=connectors, webhooks=WebhookTargets(settings.webhook_allow_private),
                       tokens=tokens if tokens is not None else TokenCache(settings.token_cache_seconds),
                       queue_position_throttle_seconds=settings.queue_position_throttle_seconds)
