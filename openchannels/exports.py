"""The HTTP exports (README "Export" and "GDPR"), with the same bearer token as /graphql:

- GET /exports/conversations.csv: the conversations list (the `conversations` query's filter as
  query parameters, `orderBy`), streamed one page at a time;
- GET /exports/statistics.csv: the statistics (`from` and `to` required, `openChannelIds`,
  `operatorIds`, `timeZone`, `labelIds`, `priorities`);
- GET /exports/clients/{id}.json (admins): everything stored about a client.

Query parameters mirror the GraphQL inputs (ConversationFilter, StatisticsFilter): list
parameters are repeated or comma-separated (`statuses=QUEUED,ACTIVE`), IDs are the API's IDs,
times ISO 8601 (without an offset: UTC), booleans `true` / `false`. An unknown parameter or a
bad value is a 400; no token (or a bad one) 401; a caller who may not export this 403; an
unknown client 404; each with a JSON body `{"error": {"code", "message", "field"}}`.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from models import ChatPriority, ChatStatus
from resolvers.ids import decode_id, to_global_id
from services.common.errors import DomainError, InvalidInput, NotFound
from services.common.numerals import MAX_PK
from services.contact_center import exports, gdpr
from services.contact_center.conversations import ConversationFilter, ConversationOrder
from services.contact_center.statistics import StatisticsFilter
from services.identity.auth import authenticate

T = TypeVar("T")

#: the API's IDs, encoded without `to_global_id`'s cache: an export of 200,000 chats would push out the
#: IDs the consoles' lists keep encoding (and grow the process by the cache's size)
global_id = to_global_id.__wrapped__

_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404}
CONVERSATION_PARAMETERS = frozenset({
    "statuses", "openChannelIds", "operatorIds", "clientId", "from", "to", "search", "pinned",
    "waitingFirstResponse", "labelIds", "priorities", "orderBy",
})
STATISTICS_PARAMETERS = frozenset({"from", "to", "openChannelIds", "operatorIds", "timeZone", "labelIds", "priorities"})


def error_response(error: DomainError) -> JSONResponse:
    status = _STATUS.get(error.code, 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": error.code, "message": error.message, "field": error.field}},
                        status_code=status, headers=headers)


class _Parameters:
    """The request's query parameters read as the GraphQL input's fields (INVALID_INPUT on the parameter)."""

    def __init__(self, request: Request, allowed: frozenset[str]) -> None:
        self.query = request.query_params
        unknown = sorted(set(self.query.keys()) - allowed)
        if unknown:
            raise InvalidInput(f"Unknown parameter {unknown[0]}; the parameters are {', '.join(sorted(allowed))}.",
                               field=[unknown[0]])

    def _one(self, name: str) -> str | None:
        values = self.query.getlist(name)
        if len(values) > 1:
            raise InvalidInput(f"{name} is given more than once.", field=[name])
        return values[0] if values else None

    def values(self, name: str, parse: Callable[[str], T]) -> list[T] | None:
        raw = self.query.getlist(name)
        if not raw:
            return None
        items = [item.strip() for value in raw for item in value.split(",") if item.strip()]
        try:
            return [parse(item) for item in items]
        except (ValueError, DomainError):
            raise InvalidInput(f"{name}: not a valid value in {', '.join(raw)}.", field=[name]) from None

    def ids(self, name: str, type_name: str) -> list[int] | None:
        return self.values(name, lambda item: _decoded_id(item, type_name, name))

    def id(self, name: str, type_name: str) -> int | None:
        value = self._one(name)
        return _decoded_id(value, type_name, name) if value is not None else None

    def moment(self, name: str) -> datetime | None:
        value = self._one(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{name}: not an ISO 8601 time (2030-03-01T12:00:00Z).", field=[name]) from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)

    def boolean(self, name: str) -> bool | None:
        value = self._one(name)
        if value is None:
            return None
        if value not in ("true", "false"):
            raise InvalidInput(f"{name}: true or false.", field=[name])
        return value == "true"

    def text(self, name: str) -> str | None:
        return self._one(name)


def _decoded_id(value: str, type_name: str, name: str) -> int:
    return decode_id(value.strip(), type_name, [name])


def conversation_filter(request: Request) -> tuple[ConversationFilter, ConversationOrder]:
    p = _Parameters(request, CONVERSATION_PARAMETERS)
    order = p.text("orderBy")
    try:
        ordered = ConversationOrder(order) if order is not None else ConversationOrder.NEWEST
    except ValueError:
        raise InvalidInput(f"orderBy: one of {', '.join(o.value for o in ConversationOrder)}.",
                           field=["orderBy"]) from None
    return ConversationFilter(
        statuses=p.values("statuses", ChatStatus), open_channel_ids=p.ids("openChannelIds", "OpenChannel"),
        operator_ids=p.ids("operatorIds", "Operator"), client_id=p.id("clientId", "Client"),
        created_from=p.moment("from"), created_to=p.moment("to"), search=p.text("search"), pinned=p.boolean("pinned"),
        waiting_first_response=p.boolean("waitingFirstResponse"), label_ids=p.ids("labelIds", "Label"),
        priorities=p.values("priorities", ChatPriority),
    ), ordered


def statistics_filter(request: Request) -> StatisticsFilter:
    p = _Parameters(request, STATISTICS_PARAMETERS)
    created_from, created_to = p.moment("from"), p.moment("to")
    for name, value in (("from", created_from), ("to", created_to)):
        if value is None:
            raise InvalidInput(f"{name} is required (ISO 8601).", field=[name])
    assert created_from is not None and created_to is not None
    return StatisticsFilter(created_from, created_to, p.ids("openChannelIds", "OpenChannel"),
                            p.ids("operatorIds", "Operator"), time_zone=p.text("timeZone") or "UTC",
                            label_ids=p.ids("labelIds", "Label"), priorities=p.values("priorities", ChatPriority))


async def _encoded(chunks: AsyncIterator[str]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield chunk.encode()


def _csv_response(chunks: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(_encoded(chunks), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })


async def _viewer(request: Request):
    return await authenticate(request.headers.get("authorization"), trusted=request.app.state.platform.tokens)


async def export_conversations(request: Request) -> Response:
    try:
        viewer = await _viewer(request)
        filter, order = conversation_filter(request)
        chunks = await exports.conversations_csv(viewer, filter=filter, order=order, id_of=global_id)
    except DomainError as error:
        return error_response(error)
    return _csv_response(chunks, "conversations.csv")


async def export_statistics(request: Request) -> Response:
    try:
        viewer = await _viewer(request)
        filter = statistics_filter(request)
        chunks = await exports.statistics_csv(viewer, filter=filter, id_of=global_id)
    except DomainError as error:
        return error_response(error)
    return _csv_response(chunks, "statistics.csv")


async def export_client(request: Request) -> Response:
    raw = request.path_params["client_id"]
    try:
        viewer = await _viewer(request)
        client_id = int(raw) if raw.isdigit() else decode_id(raw, "Client", ["clientId"])
        if client_id > MAX_PK:
            raise NotFound("No such client.", field=["clientId"])
        found: dict[str, Any] = await gdpr.client_export(viewer, client_id=client_id)
    except DomainError as error:
        return error_response(error)
    return Response(json.dumps(found, ensure_ascii=False, indent=1), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="client-{client_id}.json"',
        "Cache-Control": "no-store",
    })
