"""Prepared operations: a query or mutation this process has already run goes straight to
graphql-core the next time (PLAIN_EXECUTION=on, over HTTP POST: openchannels/prepared_http.py).

Why: around graphql-core's execution, Strawberry runs every request through its steps: an
execution context, six extensions entered and left in four phases (parsing, validation, the
limits, the error policy, the metrics, the event cursor), each a generator in a context manager,
and its HTTP view's adapters. For the bench's `sendMessage` that machinery cost about as much as
the message's own statements' Python (bench/HISTORY.md, "Eighth pass").

What a document needs before it runs depends only on its text, the operation named and the
integer values of its variables: it parses (the same text, the same token limit), it validates
(the schema's rules, the same for every request), and it is within the query limits (measured
from the document and the page sizes its integer variables give: schema/limits.py's
`measure_key`, the key of the limits' own cache). So once Strawberry's steps have let an operation
reach execution (`RememberPrepared.on_execute`, which runs only then), that key is remembered with
the parsed document, and a request with the same key runs as follows, with each rule taken from
the one place that holds it:

- the event cursor read first when the document asks for it (schema/event_cursor.py);
- a document of one root field, where it qualifies, run without graphql-core's executor
  (schema/direct_field.py: the field's resolver and the plan of its selection; graphql-core
  completes what the plan does not take);
- otherwise graphql-core's `execute` with what Strawberry would pass it: the schema's graphql-core
  schema, the executor class, Strawberry's awaitable check, `hide_suggestions` in production;
- every error through the error policy's `client_error` (schema/error_policy.py), as
  FastErrorPolicy does;
- the operation counted and timed (`operation_ended`, schema/operation_metrics.py).

A request whose key is not remembered (a new document, other page sizes, a subscription, a
document that failed a check) takes Strawberry's path, which reports what is wrong. A schema with
tracing extensions (openchannels/tracing.py) or with PLAIN_EXECUTION=off has no prepared
operations: every request takes Strawberry's path.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, execute
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from infrastructure.lru import LRU
from resolvers.event_cursor import operation_root
from schema.direct_field import DirectField, compile_direct, run_direct
from schema.error_policy import client_error
from schema.event_cursor import asks_for_event_cursor
from schema.limits import measure_key
from schema.operation_metrics import kind_of, operation_ended

#: (document text, operation name, integer variables) remembered per process
PREPARED_SIZE = 4096
#: a Prepared whose direct run has not been looked for yet
_NOT_COMPILED = object()
_RUN_PREPARED = (OperationType.QUERY, OperationType.MUTATION)


@dataclass
class Prepared:
    """A document that reached execution with this key, and what its runs need."""

    document: DocumentNode
    #: the operation's name as Strawberry executes it: the one sent, or the first operation's
    operation_name: str | None
    kind: str
    #: the document asks for `eventCursor` (read before execution)
    event_cursor: bool
    #: its run without graphql-core's executor (schema/direct_field.py): found at its first prepared
    #: run; None: it does not qualify
    direct: DirectField | None | object = field(default=_NOT_COMPILED, compare=False)


class PreparedOperations:
    """The operations of one schema that may run straight through graphql-core."""

    #: the graphql-core schema they run on (set once the Strawberry schema is built)
    schema: GraphQLSchema

    def __init__(self, executor_class: Any, *, hide_suggestions: bool = False, size: int = PREPARED_SIZE,
                 direct: bool = True) -> None:
        self.executor_class = executor_class
        self.hide_suggestions = hide_suggestions
        #: documents of one root field run without graphql-core's executor (schema/direct_field.py)
        self.direct = direct
        self._prepared: LRU[tuple, Prepared] = LRU(size)

    def remember(self, query: str | None, operation_name: str | None, variables: object,
                 document: DocumentNode | None, operation_type: OperationType) -> None:
        """An operation about to execute on Strawberry's path (its checks passed): its key.
        `operation_name`: Strawberry's, the name sent or else the first operation's; a request
        that sends none runs the first operation, so its key is remembered under None too."""
        if not query or document is None or operation_type not in _RUN_PREPARED:
            return
        prepared = Prepared(document, operation_name, kind_of(operation_type), asks_for_event_cursor(query, document))
        self._prepared.put(measure_key(query, operation_name, variables), prepared)
        if operation_name is not None and operation_name == _first_operation_name(document):
            self._prepared.put(measure_key(query, None, variables), prepared)

    def find(self, query: str, operation_name: str | None, variables: object) -> Prepared | None:
        """The prepared operation for this request, or None: Strawberry's path."""
        return self._prepared.get(measure_key(query, operation_name, variables))

    async def execute(self, prepared: Prepared, *, variables: dict[str, Any] | None,
                      context: Any) -> ExecutionResult:
        """What Strawberry's `Schema.execute` answers for it (see the module's docstring)."""
        started = time.perf_counter()
        result: ExecutionResult | None = None
        try:
            root = await operation_root() if prepared.event_cursor else None
            direct = prepared.direct
            if direct is _NOT_COMPILED:
                direct = self._direct_of(prepared, root, variables, context)
            if direct is not None:
                result = await run_direct(cast(DirectField, direct), schema=self.schema, root=root, variables=variables,
                                          context=context, hide_suggestions=self.hide_suggestions,
                                          complete=partial(self._graphql_core, prepared, root, variables, context))
                if result is not None:
                    return result
            result = await self._graphql_core(prepared, root, variables, context)
        except Exception as error:  # noqa: BLE001 - as Strawberry's execute: an error of the answer
            coerced = error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)
            result = ExecutionResult(data=None, errors=[coerced])
        finally:
            if result is not None and result.errors:
                result.errors = [client_error(error) for error in result.errors]
            operation_ended(prepared.operation_name, prepared.kind, result, started)
        return result

    async def _graphql_core(self, prepared: Prepared, root: Any, variables: dict[str, Any] | None, context: Any,
                            middleware: list | None = None) -> ExecutionResult:
        """graphql-core's `execute` with what Strawberry would pass it; `middleware`: a direct run's
        completion (schema/direct_field.py)."""
        executed: Any = execute(self.schema, prepared.document, root_value=root, context_value=context,
                                variable_values=variables, operation_name=prepared.operation_name,
                                middleware=middleware,
                                # Strawberry's own check, which it passes the same way (typed bool, not TypeGuard)
                                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                                executor_class=self.executor_class, hide_suggestions=self.hide_suggestions)
        if optimized_is_awaitable(executed):
            executed = await executed
        return ExecutionResult(data=executed.data, errors=executed.errors)

    def _direct_of(self, prepared: Prepared, root: Any, variables: dict[str, Any] | None,
                   context: Any) -> DirectField | None:
        """The document's direct run (remembered with it), or None. An executor is built once for it
        (its plan); variables it cannot coerce leave the question to the next run."""
        if not self.direct:
            prepared.direct = None
            return None
        executor = self.executor_class.build(self.schema, prepared.document, root, context, variables,
                                             prepared.operation_name, is_awaitable=optimized_is_awaitable,
                                             hide_suggestions=self.hide_suggestions)
        if isinstance(executor, list):
            return None
        found = compile_direct(self.schema, prepared.document, prepared.operation_name, executor)
        prepared.direct = found
        return found


def _first_operation_name(document: DocumentNode) -> str | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            return definition.name.value if definition.name else None
    return None


class RememberPrepared(SchemaExtension):
    """Tells the schema's PreparedOperations about each operation that reaches execution."""

    def __init__(self, prepared: PreparedOperations) -> None:
        self.prepared = prepared

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        self.prepared.remember(context.query, context.operation_name, context.variables, context.graphql_document,
                               context.operation_type)
        yield


def remember_prepared(prepared: PreparedOperations):
    """A factory for `Schema(extensions=...)`."""
    return lambda: RememberPrepared(prepared)
