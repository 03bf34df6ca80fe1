"""`POST /payments/webhook`: the payment provider's signed notification that an order is paid.

See services/contact_center/sales.py for the body and the signature. The answer: 200 with the order's status,
or an error status with `{"error": code, "message": ...}` and nothing changed.
"""
from __future__ import annotations

from typing import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from services.contact_center import sales
from services.common.errors import DomainError

#: a notification is a few hundred bytes: anything far larger is refused unread
MAX_BODY_BYTES = 64 * 1024

_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "INVALID_INPUT": 400, "INVALID_STATE": 409}


def payments_webhook(secret: str) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse({"error": "INVALID_INPUT", "message": "The body is too large."}, status_code=413)
        body = await request.body()
        try:
            order = await sales.handle_payment_notification(
                body=body[:MAX_BODY_BYTES + 1], signature=request.headers.get(sales.SIGNATURE_HEADER), secret=secret
            )
        except DomainError as error:
            return JSONResponse({"error": error.code, "message": error.message},
                                status_code=_STATUS.get(error.code, 400))
        return JSONResponse({"orderId": order.id, "status": order.status})

    return endpoint
