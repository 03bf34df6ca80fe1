"""What errors clients see: domain errors with their code, everything unexpected masked.

A domain error that reaches the top level (a query's invalid argument, a subscription's bad
`after`) says what a userError says: `extensions.code`, and `extensions.field` when it is about
one argument.

An unexpected exception reaches the client as "Internal server error" with a request id;
the traceback goes to the log under that id.
"""
from __future__ import annotations

import logging
import uuid

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from openchannels.availability import MESSAGE as UNAVAILABLE_MESSAGE
from openchannels.availability import SERVICE_UNAVAILABLE, is_database_unavailable
from services.errors import DomainError

log = logging.getLogger("openchannels.errors")


def domain_extensions(error: DomainError) -> dict[str, object]:
    """A domain error's `extensions`: its code, the argument it is about, and its own (e.g. retryAfterSeconds)."""
    field = getattr(error, "field", None)
    return {"code": error.code, **({"field": field} if field else {}), **getattr(error, "extensions", {})}


class ErrorPolicy(MaskErrors):
    def __init__(self) -> None:
        super().__init__(error_message="Internal server error.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._one(error) for error in errors]

    def _process_result(self, result: object) -> None:
        """As MaskErrors does, without its isinstance check against a runtime-checkable Protocol,
        which walks the protocol's attributes on every request (about 2 % of a sendMessage)."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)

    def _one(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return error  # syntax, validation, and errors raised deliberately with their code
        if isinstance(original, DomainError):
            return GraphQLError(original.message, nodes=error.nodes, source=error.source, positions=error.positions,
                                path=error.path, extensions=domain_extensions(original))
        if is_database_unavailable(original):  # retryable, not a bug: no traceback for the client
            log.warning("%s: the database is unavailable (%r)", error.path, original)
            return GraphQLError(UNAVAILABLE_MESSAGE, nodes=error.nodes, source=error.source, positions=error.positions,
                                path=error.path, extensions={"code": SERVICE_UNAVAILABLE})
        request_id = uuid.uuid4().hex[:12]
        log.error("request %s failed at %s", request_id, error.path, exc_info=original)
        return GraphQLError(f"Internal server error (request id {request_id}).", nodes=error.nodes,
                            source=error.source, positions=error.positions, path=error.path,
                            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id})
