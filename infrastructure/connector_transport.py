"""How a connector's reply reaches the outside messenger: an HTTP POST.

The connector adapters (services/automation/connector_adapters.py) decide what is sent, where,
signed how, and what counts as an acknowledgement; the outbox decides when to retry. This module
only does the I/O: it sends, and raises when the messenger did not answer with a 2xx.
"""
from __future__ import annotations

import json as json_module
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

#: a messenger that takes longer to answer counts as down (the reply is retried)
HTTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Answer:
    """The messenger's answer to a POST that it acknowledged (a 2xx)."""

    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json_module.loads(self.body)


class ConnectorTransport(Protocol):
    async def post(self, url: str, *, content: bytes | None = None, json: Any = None,
                   headers: Mapping[str, str] | None = None, extensions: Mapping[str, Any] | None = None) -> Answer:
        """POST to the messenger; raises unless it answered with a 2xx (the reply is then retried).
        `extensions`: httpx's request extensions (a webhook's `sni_hostname`)."""
        ...


class HttpConnectorTransport:
    """POSTs with httpx: through the client it is given (one per process: its connection pool),
    or, without one, through a client made for the one request (a command, a test)."""

    def __init__(self, client: httpx.AsyncClient | None = None, timeout_seconds: float = HTTP_TIMEOUT_SECONDS) -> None:
        self._client = client
        self._timeout = timeout_seconds

    @classmethod
    @asynccontextmanager
    async def connect(cls, timeout_seconds: float = HTTP_TIMEOUT_SECONDS) -> AsyncIterator[HttpConnectorTransport]:
        """A transport with its own client, closed on leaving."""
        async with httpx.AsyncClient(timeout=timeout_seconds) as client:
            yield cls(client, timeout_seconds)

    async def post(self, url: str, *, content: bytes | None = None, json: Any = None,
                   headers: Mapping[str, str] | None = None, extensions: Mapping[str, Any] | None = None) -> Answer:
        extra = dict(extensions or {})
        if self._client is not None:
            return _answer(await self._client.post(url, content=content, json=json, headers=headers, extensions=extra))
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            return _answer(await client.post(url, content=content, json=json, headers=headers, extensions=extra))


def status_of(error: BaseException) -> int | None:
    """The HTTP status of a POST that raised because it was answered with no 2xx; None when it was not
    answered at all (refused, timed out, no such host)."""
    return error.response.status_code if isinstance(error, httpx.HTTPStatusError) else None


def _answer(response: httpx.Response) -> Answer:
    response.raise_for_status()
    return Answer(response.status_code, response.content)
