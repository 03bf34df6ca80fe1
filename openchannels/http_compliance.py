"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/) on top of Strawberry's view.

- Media types: a client whose `Accept` prefers `application/graphql-response+json` gets it;
  everyone else gets `application/json` (`*/*` and no `Accept` included).
- Request errors (the document does not parse or validate, a variable cannot be coerced, a
  query limit is exceeded: errors without a `path` and no data) are answered with status 400
  and without a `data` entry under `application/graphql-response+json`; under
  `application/json` they keep status 200 with `"data": null`, as the spec allows for it.
  Field errors (with a `path`) are 200 under both.
- A mutation over GET is refused with 405 and `Allow: POST`, before anything runs.
- Batching (a JSON array body) is off: Strawberry answers 400 "Batching is not enabled".
- A subscription is not served over HTTP (POST or GET): a request error with
  `extensions.code = "BAD_REQUEST"` that says to subscribe over a WebSocket.
- A request refused before any GraphQL (a body that is not JSON, a missing query, a mutation
  over GET, ...) keeps its 4xx status, with a GraphQL-shaped JSON body whose error carries a
  code (`BAD_REQUEST`; `LIMIT_EXCEEDED` for 413) instead of a line of plain text.
- An unexpected exception outside the operation (e.g. while encoding the response) is a 500
  with the masked error and its request id (schema/error_policy.py), never a bare "Internal
  Server Error"; a lost database stays the business of infrastructure/availability.py.

`tests/compliance/test_graphql_over_http.py` runs the `graphql-http` package's audit against a
real server.
"""
from __future__ import annotations

import functools
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.responses import JSONResponse, Response
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from infrastructure.availability import is_database_unavailable
from openchannels.body_limits import BodyTooLarge
from openchannels.request_headers import request_headers
from schema.error_policy import BAD_REQUEST, internal_error

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
#: the code of a request refused before any GraphQL ran, by HTTP status (others: BAD_REQUEST)
STATUS_CODES = {413: "LIMIT_EXCEEDED"}
SUBSCRIPTION_OVER_HTTP = ("Subscriptions are not served over HTTP: subscribe over a WebSocket at this URL "
                          "(graphql-transport-ws or graphql-ws).")


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


@functools.lru_cache(maxsize=256)
def response_media_type(accept: str | None) -> str:
    """The media type to answer with: graphql-response+json when the client ranks it at least as
    high as application/json (ties go to graphql-response+json, the spec's preferred type).
    Remembered by `Accept` value (a client sends the same one with every request)."""
    best = {GRAPHQL_RESPONSE_JSON: 0.0, APPLICATION_JSON: 0.0}
    for item in (accept or "").split(","):
        media_range, *parameters = item.split(";")
        media_range = media_range.strip().lower()
        quality = _quality(parameters)
        if media_range == GRAPHQL_RESPONSE_JSON:
            best[GRAPHQL_RESPONSE_JSON] = max(best[GRAPHQL_RESPONSE_JSON], quality)
        elif media_range in (APPLICATION_JSON, "application/*", "*/*"):
            best[APPLICATION_JSON] = max(best[APPLICATION_JSON], quality)
    graphql_response = best[GRAPHQL_RESPONSE_JSON]
    return GRAPHQL_RESPONSE_JSON if graphql_response > 0 and graphql_response >= best[APPLICATION_JSON] \
        else APPLICATION_JSON


def is_request_error(result: ExecutionResult) -> bool:
    """No data and only errors without a path: the request never reached execution."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


#: the scope's key of the request's `Answer` (ASGI lets an application keep its own keys in the scope)
_ANSWER = "openchannels.graphql_answer"


class Answer:
    """What the request's answer will be: its media type, negotiated from `Accept`, and whether the
    operation met a request error (400 under graphql-response+json). Kept in the request's scope
    (Starlette's `request.state` costs a failed attribute test, and a Python call per attribute)."""

    __slots__ = ("media_type", "request_error")

    def __init__(self, media_type: str) -> None:
        self.media_type = media_type
        self.request_error = False


class SubResponse(Response):
    """The response an operation's context holds (`context.response`: a rate limit's Retry-After goes
    on its headers, a resolver may set its status), made for every HTTP request. Strawberry makes it
    as `Response()` and then deletes the content-length that made (headers built, parsed and
    rewritten each time): this one starts with none, as the view's own ends up. It holds the
    request's `Answer`, whose media type the answer will have."""

    def __init__(self, answer: Answer) -> None:  # noqa: D107 - no body, no headers, no status yet
        self.status_code = None  # type: ignore[assignment]
        self.background = None
        self.raw_headers = []
        self.answer = answer


class GraphQLResponse(Response):
    """An operation's answer (`create_response`), made with its media type and charset: the
    header is written once, not made as application/json and then rewritten."""


class GraphQLOverHTTP:
    """A mixin for the Strawberry ASGI view (before it in the bases)."""

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if self.is_websocket_request(request):  # type: ignore[attr-defined]
            return await super().run(request, context, root_value)  # type: ignore[misc]
        answer = request.scope[_ANSWER] = Answer(response_media_type(request_headers(request.scope).get("accept")))
        try:
            response = await super().run(request, context, root_value)  # type: ignore[misc]
        except MethodNotAllowed as refusal:
            return refusal_response(refusal, headers={"Allow": "POST"})
        except HTTPException as refusal:
            return refusal_response(refusal)
        except Exception as error:
            if is_database_unavailable(error):
                raise  # 503 (infrastructure/availability.py)
            if isinstance(error, BodyTooLarge):
                raise  # 413 (openchannels/body_limits.py)
            masked = internal_error(error, f"{request.method} {request.url.path}")
            return JSONResponse({"data": None, "errors": [masked.formatted]}, status_code=500)
        # an answer (create_response) has its media type already; a request error is 400 under graphql-response+json
        if type(response) is GraphQLResponse and answer.request_error and answer.media_type == GRAPHQL_RESPONSE_JSON \
                and response.status_code == 200:
            response.status_code = 400
        return response

    async def get_sub_response(self, request: Any) -> SubResponse:
        return SubResponse(request.scope[_ANSWER])

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """Strawberry's create_response, with the media type negotiated in `run` (on the sub-response)."""
        assert isinstance(sub_response, SubResponse)  # get_sub_response's
        response = GraphQLResponse(self.encode_json(response_data),  # type: ignore[attr-defined]
                                   status_code=sub_response.status_code or 200,
                                   media_type=f"{sub_response.answer.media_type}; charset=utf-8")
        response.raw_headers.extend(sub_response.raw_headers)
        if sub_response.background:
            response.background = sub_response.background
        return response

    async def process_result(self, request: Any, result: ExecutionResult) -> Any:
        data = await super().process_result(request, result)  # type: ignore[misc]
        if is_request_error(result):
            answer = request.scope[_ANSWER]
            answer.request_error = True
            if answer.media_type == GRAPHQL_RESPONSE_JSON:
                data.pop("data", None)
        return data

    async def execute_single(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_single(*args, **kwargs)  # type: ignore[misc]
        except HTTPException as error:
            cause = error.__cause__
            if isinstance(cause, InvalidOperationTypeError) and cause.operation_type == OperationType.MUTATION:
                raise MethodNotAllowed("Mutations are not allowed over GET: use POST.") from cause
            if isinstance(cause, InvalidOperationTypeError) and cause.operation_type == OperationType.SUBSCRIPTION:
                return ExecutionResult(data=None, errors=[GraphQLError(SUBSCRIPTION_OVER_HTTP,
                                                                       extensions={"code": BAD_REQUEST})])
            raise


def refusal_response(refusal: HTTPException, headers: dict[str, str] | None = None) -> JSONResponse:
    """A request refused before any GraphQL ran: its status, and an error with a code."""
    code = getattr(refusal, "code", None) or STATUS_CODES.get(refusal.status_code, BAD_REQUEST)
    return JSONResponse({"errors": [{"message": refusal.reason, "extensions": {"code": code}}]},
                        status_code=refusal.status_code, headers=headers)


class MethodNotAllowed(HTTPException):
    """A mutation over GET: answered 405 with `Allow: POST`."""

    def __init__(self, reason: str) -> None:
        super().__init__(405, reason)
