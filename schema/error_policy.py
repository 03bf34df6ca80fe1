"""What errors clients see: domain errors with their code, everything unexpected masked.

A domain error that reaches the top level (a query's invalid argument, a subscription's bad
`after`) says what a userError says: `extensions.code`, and `extensions.field` when it is about
one argument.

An unexpected exception reaches the client as "Internal server error" with a request id;
the traceback goes to the log under that id. `internal_error` is that rule for every place
that catches an exception outside an operation's execution (the HTTP view, the WebSocket
handlers): one message, one code, one log line per request id.

A request that cannot run as sent (no operation of that name, a subscription sent over
HTTP, no document at all) is the client's mistake, not a bug: BAD_REQUEST with Strawberry's
message. graphql-core's own refusals get a code too, so that every error a client reads has
one: GRAPHQL_PARSE_FAILED (syntax), GRAPHQL_VALIDATION_FAILED (the document does not fit the
schema) and INVALID_INPUT (a variable's value does not fit its type: the only errors without
a path that come out of execution).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from infrastructure.availability import MESSAGE as UNAVAILABLE_MESSAGE
from infrastructure.availability import SERVICE_UNAVAILABLE, is_database_unavailable
from infrastructure.request_ids import new_request_id, request_id as current_request_id
from resolvers.errors import DomainError, domain_extensions

log = logging.getLogger("openchannels.errors")

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
#: the request is malformed or uses the wrong transport (nothing ran)
BAD_REQUEST = "BAD_REQUEST"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INVALID_INPUT = "INVALID_INPUT"
#: Strawberry's exceptions for an operation that cannot run as sent
_REQUEST_ERRORS = (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError)


def internal_error(error: BaseException, where: Any = None) -> GraphQLError:
    """The masked error of an unexpected exception; its traceback is logged under the request id
    (the HTTP request's, infrastructure/request_ids.py; over a WebSocket, one of its own)."""
    request_id = current_request_id.get() or new_request_id()
    log.error("request %s failed at %s", request_id, where, exc_info=error, extra={"request_id": request_id})
    return GraphQLError(f"Internal server error (request id {request_id}).",
                        extensions={"code": INTERNAL_SERVER_ERROR, "requestId": request_id})


def client_error(error: GraphQLError, validation_errors: tuple[GraphQLError, ...] = ()) -> GraphQLError:
    """The error as the client reads it (see the module's docstring): with its code, or masked.
    `validation_errors`: the document's, which get GRAPHQL_VALIDATION_FAILED."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        if error.extensions and "code" in error.extensions:
            return error  # raised deliberately with its code
        return _with_code(error, validation_errors)
    if isinstance(original, DomainError):
        return GraphQLError(original.message, nodes=error.nodes, source=error.source, positions=error.positions,
                            path=error.path, extensions=domain_extensions(original))
    if isinstance(original, _REQUEST_ERRORS):  # kept as the cause: graphql-transport-ws closes 4400 on some
        return GraphQLError(error.message, nodes=error.nodes, source=error.source, positions=error.positions,
                            path=error.path, original_error=original, extensions={"code": BAD_REQUEST})
    if is_database_unavailable(original):  # retryable, not a bug: no traceback for the client
        log.warning("%s: the database is unavailable (%r)", error.path, original)
        return GraphQLError(UNAVAILABLE_MESSAGE, nodes=error.nodes, source=error.source, positions=error.positions,
                            path=error.path, extensions={"code": SERVICE_UNAVAILABLE})
    masked = internal_error(original, error.path)
    return GraphQLError(masked.message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, extensions=masked.extensions)


def _with_code(error: GraphQLError, validation_errors: tuple[GraphQLError, ...]) -> GraphQLError:
    """graphql-core's refusal of a document or a variable, with the code of its kind."""
    if isinstance(error, GraphQLSyntaxError):
        code = GRAPHQL_PARSE_FAILED
    elif any(error is refused for refused in validation_errors):
        code = GRAPHQL_VALIDATION_FAILED
    elif error.path is None:  # the variables are coerced when execution starts
        code = INVALID_INPUT
    else:
        return error
    return GraphQLError(error.message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=error.original_error,
                        extensions={**(error.extensions or {}), "code": code})


class ErrorPolicy(MaskErrors):
    """Every error through `_one` (MaskErrors' public hooks: each error is "masked", and masking
    gives it its code, or hides it behind a request id)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: True, error_message="Internal server error.")
        #: the document's validation errors (variables are coerced later, into the same list)
        self._validation_errors: tuple[GraphQLError, ...] = ()

    def on_validate(self) -> Iterator[None]:
        yield
        self._validation_errors = tuple(self.execution_context.pre_execution_errors or ())

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return self._one(error)

    def _one(self, error: GraphQLError) -> GraphQLError:
        return client_error(error, self._validation_errors)


class FastErrorPolicy(ErrorPolicy):
    """ErrorPolicy with MaskErrors' private `_process_result` replaced (PLAIN_EXECUTION=on; pinned
    Strawberry: tests/engine): the same, without its isinstance check against a runtime-checkable
    Protocol, which walks the protocol's attributes on every request (about 2 % of a sendMessage)."""

    def _process_result(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self._one(error) for error in errors]  # type: ignore[attr-defined]  # an ExecutionResult: it has errors
