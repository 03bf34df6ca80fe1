"""Local HTTP servers for connector tests: a webhook receiver and a fake Telegram Bot API.

Each is a small Starlette app served by uvicorn on a free loopback port in the test's own
event loop; `stop()` and `start()` take it down and bring it back on the same port.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.ports import free_port

START_SECONDS = 10


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LocalServer:
    app: Starlette
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(START_SECONDS):
            while not self._server.started:
                await asyncio.sleep(0.01)  # start-up, bounded

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, START_SECONDS)
            self._server = self._task = None


def webhook_receiver() -> LocalServer:
    """Records every POST /hook and answers 200."""
    server: LocalServer

    async def hook(request: Request) -> JSONResponse:
        server.received.append(Received(request.url.path, dict(request.headers), await request.body()))
        return JSONResponse({"ok": True})

    server = LocalServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    return server


@dataclass
class Answered:
    request: Received
    status: int


@dataclass
class HookReceiver(LocalServer):
    """An outbound webhook's receiver: `failures`, the statuses of the next answers (then 200)."""

    failures: list[int] = field(default_factory=list)
    #: the status it answers every event of these chats (by the body's chatId) with, whatever `failures` says
    refused_chats: dict[str, int] = field(default_factory=dict)
    #: every request, with the status it was answered
    answered: list[Answered] = field(default_factory=list)

    def acknowledged(self) -> list[Any]:
        """The JSON bodies of the requests answered with a 2xx, in the order they came."""
        return [a.request.json for a in self.answered if 200 <= a.status < 300]


def hook_receiver() -> HookReceiver:
    """Records every POST /hook; answers the next of its `failures`, or 200."""
    server: HookReceiver

    async def hook(request: Request) -> JSONResponse:
        received = Received(request.url.path, dict(request.headers), await request.body())
        status = server.failures.pop(0) if server.failures else 200
        status = server.refused_chats.get(json.loads(received.body).get("chatId"), status)
        server.answered.append(Answered(received, status))
        return JSONResponse({"ok": status == 200}, status_code=status)

    server = HookReceiver(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    return server


def fake_telegram(bot_token: str) -> LocalServer:
    """The Bot API's sendMessage for one bot: records calls, answers {"ok": true, "result": ...}."""
    server: LocalServer

    async def send_message(request: Request) -> JSONResponse:
        if request.path_params["token"] != bot_token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        server.received.append(Received(request.url.path, dict(request.headers), await request.body()))
        payload = json.loads(await request.body())
        return JSONResponse({"ok": True, "result": {"message_id": len(server.received),
                                                    "chat": {"id": payload["chat_id"]}, "text": payload["text"]}})

    server = LocalServer(Starlette(routes=[Route("/bot{token}/sendMessage", send_message, methods=["POST"])]))
    return server
