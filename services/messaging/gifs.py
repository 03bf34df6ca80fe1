"""GIF search through a provider: the built-in catalog by default, Giphy when an API key is set
(infrastructure/gif_providers.py: the provider interface and the Giphy HTTP client; the platform
holds the one in use, infrastructure/platform.py).

A remote provider never fails the request: a timeout, a connection error or a bad answer
gives an empty list and a logged warning.
"""
from __future__ import annotations

from tortoise.expressions import Q

from infrastructure.gif_providers import Gif, GifProvider
from models import CatalogGif
from services.common.errors import InvalidInput
from services.identity.viewer import Viewer, require_admin, require_operator
from services.common.text_input import text_input, SEARCH_LENGTH, TITLE_LENGTH, URL_LENGTH

MAX_LIMIT = 50


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


@text_input(query=SEARCH_LENGTH)
async def search_gifs(viewer: Viewer, provider: GifProvider | None, *, query: str, limit: int = 20) -> list[Gif]:
    """GIFs matching `query` from `provider` (the platform's: infrastructure/platform.py); None: the built-in catalog."""
    require_operator(viewer)
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"`limit` must be between 1 and {MAX_LIMIT}.", field=["limit"])
    query = query.strip()
    if not query:
        return []
    return await (provider or CatalogGifProvider()).search(query, limit)


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
