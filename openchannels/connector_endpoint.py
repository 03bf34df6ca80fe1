"""POST /connectors/{connectorId}/events: where outside messengers deliver their messages.

The raw body is read as sent (signatures cover the bytes, not a re-serialisation).
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from services.automation import connectors

#: an inbound event larger than this is refused before it is read in full
MAX_EVENT_BYTES = 256 * 1024


async def connector_events(request: Request) -> JSONResponse:
    if int(request.headers.get("content-length") or 0) > MAX_EVENT_BYTES:
        return JSONResponse({"error": "too large"}, status_code=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_EVENT_BYTES:
            return JSONResponse({"error": "too large"}, status_code=413)
    intake = await connectors.receive(request.path_params["connector_id"],
                                      {k.lower(): v for k, v in request.headers.items()}, body)
    return JSONResponse(intake.body, status_code=intake.status)
