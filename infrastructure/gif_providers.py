"""GIF providers: what a GIF search answers with, and Giphy's HTTP client. The built-in catalog
(a table of this application) is services/messaging/gifs.py's.

A remote provider never fails the request: a timeout, a connection error or a bad answer
gives an empty list and a logged warning.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import httpx

log = logging.getLogger("openchannels.gifs")


@dataclass(frozen=True)
class Gif:
    id: str
    title: str
    url: str
    preview_url: str


class GifProvider(Protocol):
    async def search(self, query: str, limit: int) -> list[Gif]: ...


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
