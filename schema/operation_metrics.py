"""Every GraphQL operation counted by name, type and outcome, and timed (infrastructure/metrics.py).

The outcome a user would tell apart:
- `error`: something failed on our side (a masked INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE);
- `user_error`: the client's request was refused (a top-level error with any other code) or a
  mutation answered with `userErrors`;
- `ok`: anything else.

Listed first among the schema's extensions, so its on_operation ends last: the errors it sees
have been through schema/error_policy.py and carry their codes.
A subscription counts once, when it ends; its lifetime is not a latency, so only queries and
mutations are timed. While it runs it is an active subscription.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from infrastructure.metrics import ACTIVE_SUBSCRIPTIONS, ERROR, OK, USER_ERROR, operation_series

#: codes of a failure on the server's side (schema/error_policy.py, infrastructure/availability.py)
SERVER_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"})
_TYPES = {OperationType.QUERY: "query", OperationType.MUTATION: "mutation",
          OperationType.SUBSCRIPTION: "subscription"}


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        #: set when execution starts, i.e. the document parsed and validated
        self._kind: str | None = None
        try:
            yield
        finally:  # a subscription the client stops ends here with GeneratorExit: counted too
            if self._kind == "subscription":
                ACTIVE_SUBSCRIPTIONS.dec()
            operation_ended(self.execution_context.operation_name, self._kind, self.execution_context.result, started)

    def on_execute(self) -> Iterator[None]:
        if self._kind is None:
            self._kind = kind_of(self.execution_context.operation_type)
            if self._kind == "subscription":
                ACTIVE_SUBSCRIPTIONS.inc()
        yield


def operation_ended(operation_name: object, kind: str | None, result: object, started: float) -> None:
    """Count an operation that ended (`kind`: None when it never executed) and time it (`started`:
    its time.perf_counter() when it began): Strawberry's path (above) and the prepared one
    (schema/prepared_operations.py)."""
    # only a valid document's name is the client's choice among real operations
    operation = operation_series.label(operation_name, kind is not None)
    operation_series.count(operation, kind or "unknown", outcome(result))
    if kind != "subscription":
        operation_series.observe(operation, kind or "unknown", time.perf_counter() - started)


def kind_of(operation_type: OperationType) -> str:
    """The `kind` label of an operation type."""
    return _TYPES.get(operation_type, "unknown")


def outcome(result: object) -> str:
    """ok, user_error or error, from a result's top-level errors and its mutations' userErrors."""
    errors = getattr(result, "errors", None)
    if errors:
        for error in errors:
            if (error.extensions or {}).get("code") in SERVER_CODES:
                return ERROR
        return USER_ERROR
    data = getattr(result, "data", None)
    if data:
        for value in data.values():
            if type(value) is dict and value.get("userErrors"):
                return USER_ERROR
    return OK
