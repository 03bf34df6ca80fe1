"""GIF search through a provider: the built-in catalog by default, Giphy when an API key is set.

A remote provider never fails the request: a timeout, a connection error or a bad answer
gives an empty list and a logged warning.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import httpx
from tortoise.expressions import Q

from models import CatalogGif
from services.common.errors import InvalidInput
from services.identity.viewer import Viewer, require_admin, require_operator
from services.common.text_input import text_input, SEARCH_LENGTH, TITLE_LENGTH, URL_LENGTH

log = logging.getLogger("openchannels.gifs")
MAX_LIMIT = 50


@dataclass(frozen=True)
class Gif:
    id: str
    title: str
    url: str
    preview_url: str


class GifProvider(Protocol):
    async def search(self, query: str, limit: int) -> list[Gif]: ...


class CatalogGifProvider:
    """GIFs added by admins, matched by a word of their title or one of their tags."""

    async def search(self, query: str, limit: int) -> list[Gif]:
        words = [w for w in query.lower().split() if w]
        condition = Q()
        for word in words:
            condition &= Q(title__icontains=word) | Q(tags__icontains=word)
        rows = await CatalogGif.filter(condition).order_by("id").limit(limit)
        return [catalog_gif(r) for r in rows]


def catalog_gif(row: CatalogGif) -> Gif:
    return Gif(id=f"catalog:{row.id}", title=row.title, url=row.url, preview_url=row.preview_url)


class GiphyProvider:
    """Giphy's search API (https://developers.giphy.com/docs/api/endpoint#search)."""

    def __init__(self, api_key: str, url: str, timeout_seconds: float) -> None:
        self.api_key, self.url, self.timeout = api_key, url, timeout_seconds

    async def search(self, query: str, limit: int) -> list[Gif]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(self.url, params={"api_key": self.api_key, "q": query, "limit": limit,
                                                              "rating": "g"})
            response.raise_for_status()
            return [_giphy_gif(item) for item in response.json()["data"]][:limit]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            log.warning("Giphy search failed (%s: %s): answering with no GIFs", type(error).__name__, error)
            return []


def _giphy_gif(item: dict) -> Gif:
    images = item["images"]
    full = images.get("original") or images["fixed_height"]
    preview = images.get("fixed_height_small") or images.get("preview_gif") or full
    return Gif(id=f"giphy:{item['id']}", title=item.get("title") or "", url=full["url"], preview_url=preview["url"])


_provider: GifProvider | None = None


def configure(provider: GifProvider | None) -> None:
    global _provider
    _provider = provider


def provider() -> GifProvider:
    global _provider
    if _provider is None:
        from infrastructure.settings import Settings

        settings = Settings()
        _provider = GiphyProvider(settings.giphy_api_key, settings.giphy_api_url, settings.gif_search_timeout_seconds) \
            if settings.giphy_api_key else CatalogGifProvider()
    return _provider


@text_input(query=SEARCH_LENGTH)
async def search_gifs(viewer: Viewer, *, query: str, limit: int = 20) -> list[Gif]:
    require_operator(viewer)
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"`limit` must be between 1 and {MAX_LIMIT}.", field=["limit"])
    query = query.strip()
    if not query:
        return []
    return await provider().search(query, limit)


@text_input(title=TITLE_LENGTH, url=URL_LENGTH, preview_url=URL_LENGTH, tags=TITLE_LENGTH)
async def add_catalog_gif(viewer: Viewer, *, title: str, url: str, preview_url: str | None = None,
                          tags: list[str] | None = None) -> CatalogGif:
    """An admin adds a GIF to the built-in catalog."""
    require_admin(viewer)
    title = title.strip()
    if not title:
        raise InvalidInput("The title cannot be empty.", field=["input", "title"])
    if not url.startswith(("https://", "http://")):
        raise InvalidInput("The URL must be http(s).", field=["input", "url"])
    return await CatalogGif.create(title=title, url=url, preview_url=preview_url or url,
                                   tags=" ".join(t.strip().lower() for t in tags or [] if t.strip()))
