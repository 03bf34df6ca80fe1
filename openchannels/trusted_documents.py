"""Trusted documents at request time: a registered operation run by its id, and, with
PERSISTED_OPERATIONS_ONLY=true, no other document for callers who are not admins.

A client names a registered operation (services/identity/persisted_operations.py) in one of two forms,
over POST, GET and both WebSocket protocols:

- `documentId` beside `variables` (GraphQL over HTTP's persisted documents; GraphQL Codegen's
  client preset): `"<id>"` or `"sha256:<hex>"`;
- APQ's `extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}` (Apollo).

An unknown `documentId` is PERSISTED_QUERY_NOT_FOUND. An APQ hash that is not registered goes on
to automatic persisted queries (openchannels/persisted_queries.py) as before, except for a
non-admin caller when PERSISTED_OPERATIONS_ONLY is on: then only registered ids run, and a
document sent as text (with a hash or without) is refused with PERSISTED_QUERY_REQUIRED.
Admins (and so GraphiQL's introspection with an admin token) run any document; a caller without
a token, or with a bad one, is not an admin.

Registered documents read from the database are remembered per process for CACHE_SECONDS: a
removed operation stops running everywhere within that time. Requests that send a document and
no id (every console's request when the flag is off) never look anything up.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from infrastructure.lru import LRU
from openchannels.persisted_queries import INVALID, NOT_FOUND, PersistedQueries, PersistedQueryError, apq_hash
from services.identity import persisted_operations
from services.common.errors import DomainError

REQUIRED = "PERSISTED_QUERY_REQUIRED"
#: how long a process runs a registered document it read without reading it again
CACHE_SECONDS = 10.0
#: distinct registered documents remembered per process
CACHE_SIZE = 1000
DOCUMENT_ID = "documentId"

REQUIRED_MESSAGE = ("Only registered operations may run here: send the `documentId` (or the "
                    "persistedQuery hash) of an operation registered with `openchannels operations register`.")


@dataclass
class TrustedRequestData(GraphQLRequestData):
    """An HTTP request's data with its `documentId` (Strawberry's parser drops the key)."""

    document_id: Any = None


class TrustedDocuments:
    def __init__(self, *, only: bool = False, apq: PersistedQueries | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.only = only
        self.apq = apq or PersistedQueries()
        self._clock = clock
        self._registered: LRU[str, tuple[str, float]] = LRU(CACHE_SIZE)

    async def resolve(self, request: GraphQLRequestData, document_id: Any, *, admin: bool) -> GraphQLRequestData:
        """The request with the document to run, or PersistedQueryError (a top-level error with its code)."""
        if document_id is not None:
            if not isinstance(document_id, str) or not document_id:
                raise PersistedQueryError("`documentId` must be a non-empty string.", INVALID)
            body = await self.registered(document_id)
            if body is None:
                raise PersistedQueryError(f"No operation is registered with the documentId {document_id[:80]!r}.",
                                          NOT_FOUND)
            return _with_document(request, body)
        digest = apq_hash(request.extensions)
        if digest is not None:
            body = await self.registered(digest)
            if body is not None:
                return _with_document(request, body)
            if self.only and not admin:
                if request.query is None:
                    raise PersistedQueryError("PersistedQueryNotFound", NOT_FOUND)
                raise PersistedQueryError(REQUIRED_MESSAGE, REQUIRED)
            return self.apq.resolve(request)
        if self.only and not admin and request.query is not None:
            raise PersistedQueryError(REQUIRED_MESSAGE, REQUIRED)
        return request

    async def registered(self, document_id: str) -> str | None:
        document_id = persisted_operations.canonical_id(document_id)
        now = self._clock()
        cached = self._registered.get(document_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        body = await persisted_operations.registered_body(document_id)
        if body is not None:
            self._registered.put(document_id, (body, now + CACHE_SECONDS))
        return body


def _with_document(request: GraphQLRequestData, body: str) -> GraphQLRequestData:
    if request.query is not None and request.query != body:
        raise PersistedQueryError("The document sent is not the registered one: send the id alone.", INVALID)
    return replace(request, query=body)


def is_admin(context: Any) -> bool:
    try:
        return bool(context.viewer.is_admin)
    except DomainError:  # a bad token or a refusal: not an admin (the request meets it again later)
        return False


def names_a_document(payload: dict) -> bool:
    """A WebSocket operation payload that names a registered or persisted document instead of sending one."""
    extensions = payload.get("extensions")
    return payload.get("query") is None and (
        payload.get(DOCUMENT_ID) is not None
        or (isinstance(extensions, dict) and extensions.get("persistedQuery") is not None))


def error_of(error: PersistedQueryError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})


class TrustedDocumentsView:
    """A mixin for the Strawberry ASGI view (before it in the bases): `documentId` read from the
    body or the query string, and every request's document resolved as above."""

    trusted_documents: TrustedDocuments

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A GET with only `extensions` or `documentId` (a persisted operation) is an operation, not a browser visit."""
        if request.method != "GET":
            return False  # (as Strawberry's own rule: only a GET shows the IDE; a POST's query string is not parsed)
        params = request.query_params
        if params.get("extensions") is not None or params.get(DOCUMENT_ID) is not None:
            return False
        return super().should_render_graphql_ide(request)  # type: ignore[misc]

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)  # type: ignore[misc]
        if not isinstance(data, GraphQLRequestData) or data.query is not None:
            return data  # a document sent as text: nothing more to read (every console's request)
        if request.method == "GET":
            document_id = request.query_params.get(DOCUMENT_ID)
        elif "json" in (request.content_type or ""):
            body = self.parse_json(await request.get_body())  # type: ignore[attr-defined]
            document_id = body.get(DOCUMENT_ID) if isinstance(body, dict) else None
        else:
            document_id = None
        if document_id is None:
            return data
        return TrustedRequestData(query=None, variables=data.variables, operation_name=data.operation_name,
                                  extensions=data.extensions, protocol=data.protocol, document_id=document_id)

    async def execute_single(self, *args: Any, **kwargs: Any) -> Any:
        request_data = kwargs["request_data"]
        try:
            kwargs["request_data"] = await self.trusted_documents.resolve(
                request_data, getattr(request_data, "document_id", None), admin=is_admin(kwargs["context"]))
        except PersistedQueryError as error:
            return ExecutionResult(data=None, errors=[error_of(error)])
        return await super().execute_single(*args, **kwargs)  # type: ignore[misc]


class TrustedDocumentsWS:
    """Mixed into both WebSocket protocol handlers (after ConnectionLimits, before Strawberry's):
    an operation's payload resolved as above, or refused with an `error` for its id."""

    operation_messages: dict[str, bool]

    async def handle_message(self, message: Any) -> None:
        trusted: TrustedDocuments | None = getattr(self.view, "trusted_documents", None)  # type: ignore[attr-defined]
        if trusted is not None and self.operation_messages.get(message["type"]) \
                and self.connection_acknowledged:  # type: ignore[attr-defined]  # before: Strawberry closes 4401
            payload = message["payload"]
            request = GraphQLRequestData(query=payload.get("query"), variables=payload.get("variables"),
                                         operation_name=payload.get("operationName"),
                                         extensions=payload.get("extensions"))
            try:
                resolved = await trusted.resolve(request, payload.get(DOCUMENT_ID),
                                                 admin=is_admin(self.context))  # type: ignore[attr-defined]
            except PersistedQueryError as error:
                await self.refuse_operation(message, error_of(error))
                return
            if resolved.query != payload.get("query"):
                message = {**message, "payload": {**payload, "query": resolved.query}}
        await super().handle_message(message)  # type: ignore[misc]

    async def refuse_operation(self, message: Any, error: GraphQLError) -> None:
        raise NotImplementedError
