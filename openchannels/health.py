"""Liveness and readiness probes.

`/healthz` (liveness): the process is up and serving; it touches nothing else, so a database
or Redis outage never makes an orchestrator restart healthy processes.
`/readyz` (readiness): the database answers a trivial query and the broker is usable (Redis
answers PING and this process is subscribed to the event channel), each within a short
timeout: 200 {"status": "ok", "database": "ok", "broker": "ok"}, or 503 naming the part that
failed ("unavailable"). A load balancer stops sending traffic while it is 503.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable

from starlette.requests import Request
from starlette.responses import JSONResponse

from infrastructure.database import check_database

log = logging.getLogger("openchannels.health")

#: each readiness check must answer within this time
READINESS_TIMEOUT_SECONDS = 2.0
OK = "ok"
UNAVAILABLE = "unavailable"


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": OK})


async def readyz(request: Request) -> JSONResponse:
    database, broker = await asyncio.gather(_probe("database", check_database()),
                                            _probe("broker", request.app.state.platform.broker.check()))
    ready = database == OK and broker == OK
    return JSONResponse({"status": OK if ready else UNAVAILABLE, "database": database, "broker": broker},
                        status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


async def _probe(part: str, check: Awaitable[None]) -> str:
    try:
        await asyncio.wait_for(check, READINESS_TIMEOUT_SECONDS)
    except Exception as error:
        log.warning("readiness: the %s is unavailable (%r)", part, error)
        return UNAVAILABLE
    return OK
