"""Prepared operations over HTTP: a JSON POST of a query or mutation this process has run before
(schema/prepared_operations.py) skips Strawberry's HTTP view and its `Schema.execute`.

The view's steps for such a request, done here with the view's own methods: the sub-response
(`Retry-After` of a rate limit goes on it), the context (`get_context`: the token, the limits),
the result made into the response body (`process_result`, with GraphQL over HTTP's rule for
request errors: openchannels/http_compliance.py) and the response (`create_response`, orjson, with
the media type negotiated). GraphQLOverHTTP.run, which calls this, then sets the status as for any
answer and turns an unexpected exception into the masked 500.

Anything else takes Strawberry's path, unchanged: not a POST, another content type than
`application/json` (uploads are multipart), an `Accept` that asks for a stream (multipart/mixed,
text/event-stream), a body that is not a JSON object of `query`, `variables`, `operationName` and
`extensions` with APQ's `persistedQuery` alone (its text found as Strawberry's path finds it:
openchannels/trusted_documents.py; a `documentId` names a registered operation), persisted
operations only (PERSISTED_OPERATIONS_ONLY: the trusted documents decide who may send text), and a
document, operation and page sizes this process has not run yet.
"""
from __future__ import annotations

from typing import Any

from strawberry.http import GraphQLRequestData
from strawberry.types.unset import UNSET

from openchannels.persisted_queries import PersistedQueryError
from openchannels.request_headers import request_headers

#: the keys of a request body that may be prepared (anything else: Strawberry's path)
_PLAIN_KEYS = frozenset({"query", "variables", "operationName", "extensions"})
#: `Accept` values under which Strawberry streams (incremental delivery, subscriptions over SSE)
_STREAMING = ("multipart/mixed", "text/event-stream")


class PreparedOperationsView:
    """A mixin for the Strawberry ASGI view, after GraphQLOverHTTP and before Strawberry's view."""

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        prepared = getattr(self.schema, "prepared", None)  # type: ignore[attr-defined]
        if prepared is not None and context is UNSET and root_value is UNSET \
                and not self.is_websocket_request(request) and request.method == "POST":  # type: ignore[attr-defined]
            found = await self._prepared_request(request, prepared)
            if found is not None:
                return await self._run_prepared(request, prepared, *found)
        return await super().run(request, context, root_value)  # type: ignore[misc]

    async def _prepared_request(self, request: Any, prepared: Any) -> tuple | None:
        """(the prepared operation, the variables) when this request may take the prepared path."""
        headers = request_headers(request.scope)
        if headers.get("content-type", "").partition(";")[0].strip().lower() != "application/json":
            return None
        accept = headers.get("accept")
        if accept and any(streaming in accept for streaming in _STREAMING):
            return None
        if self.trusted_documents.only:  # type: ignore[attr-defined]
            return None
        body = await request.body()  # kept by Starlette for Strawberry's path; too large: 413 as there
        try:
            data = self.parse_json(body)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - Strawberry's path parses it again and answers it
            return None
        if type(data) is not dict or not data.keys() <= _PLAIN_KEYS:
            return None
        query, variables, operation_name = data.get("query"), data.get("variables"), data.get("operationName")
        if not (variables is None or type(variables) is dict) or not (operation_name is None or type(operation_name) is str):
            return None
        extensions = data.get("extensions")
        if extensions is not None:  # APQ's hash (with the text or without): its text, as the trusted documents find it
            if type(extensions) is not dict or extensions.keys() != {"persistedQuery"} or not (query is None or type(query) is str):
                return None
            try:
                query = (await self.trusted_documents.resolve(  # type: ignore[attr-defined]
                    GraphQLRequestData(query, variables, operation_name, extensions), None, admin=False)).query
            except PersistedQueryError:  # Strawberry's path meets it again and answers it
                return None
        if type(query) is not str:
            return None
        found = prepared.find(query, operation_name, variables)
        return None if found is None else (found, variables)

    async def _run_prepared(self, request: Any, prepared: Any, operation: Any, variables: dict | None) -> Any:
        sub_response = await self.get_sub_response(request)  # type: ignore[attr-defined]
        context = await self.get_context(request, response=sub_response)  # type: ignore[attr-defined]
        result = await prepared.execute(operation, variables=variables, context=context)
        response_data = await self.process_result(request=request, result=result)  # type: ignore[attr-defined]
        return self.create_response(response_data=response_data, sub_response=sub_response)  # type: ignore[attr-defined]
