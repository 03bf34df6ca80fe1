"""What errors clients see: domain errors with their code, everything unexpected masked.

An unexpected exception reaches the client as "Internal server error" with a request id;
the traceback goes to the log under that id.
"""
from __future__ import annotations

import logging
import uuid

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from services.errors import DomainError

log = logging.getLogger("openchannels.errors")


class ErrorPolicy(MaskErrors):
    def __init__(self) -> None:
        super().__init__(error_message="Internal server error.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._one(error) for error in errors]

    def _one(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return error  # syntax, validation, and errors raised deliberately with their code
        if isinstance(original, DomainError):
            return GraphQLError(original.message, nodes=error.nodes, source=error.source, positions=error.positions,
                                path=error.path, extensions={"code": original.code})
        request_id = uuid.uuid4().hex[:12]
        log.error("request %s failed at %s", request_id, error.path, exc_info=original)
        return GraphQLError(f"Internal server error (request id {request_id}).", nodes=error.nodes,
                            source=error.source, positions=error.positions, path=error.path,
                            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id})
