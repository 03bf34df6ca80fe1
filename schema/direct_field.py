"""A prepared operation of one root field, run without graphql-core's executor (PLAIN_EXECUTION=on).

Why: a prepared `sendMessage` (schema/prepared_operations.py) still went through graphql-core's
`execute` for its one field: an executor built (the operation found, the fragments gathered, the
variables coerced), the root fields collected, a serial reduction over one field, the field's
resolve info and arguments, then the completion of its payload through three levels of awaiting
wrappers. Measured in-process with the use case stubbed out: about 160 µs a request on this
machine, some 15 % of the server's CPU for a message under B3; run directly, about 45 µs.

What it does instead, for a document that qualifies (`compile_direct`: a query or mutation whose
selection is one field of the root type, not `__typename` or another meta field, no directive
anywhere, no fragment with variables, the field's type an object type, nullable or not, whose
selection the executor can plan: schema/plain_execution.py):

- the variables coerced by graphql-core's `get_variable_values`, the field's arguments by its
  `get_argument_values`, as the executor calls them (or, when every variable is required, from
  a template that call made once: `_arguments_of`); an error there (a variable of the wrong
  type, say) runs nothing: the request takes graphql-core's path, which reports it;
- the field's resolver (Strawberry's, with its permissions and extensions) called with the info
  Strawberry's executor gives it (`_OperationContextAwareGraphQLResolveInfo`, the same fields in
  the same order: the root, the operation, the fragments, the coerced variables, the context);
- its value completed by the plan the executor compiles for that selection.

Whenever the answer would need more than that (the resolver raised, returned null or a value the
plan does not take: `_Unplanned`; the type's `is_type_of` raised), the value is completed by graphql-core itself: `execute` again,
with a middleware that gives the root field the value (or the exception) the resolver already gave,
so the resolver's side effects happen once, and the errors, their paths and null propagation are
graphql-core's own (the objects below the root field keep their plans: the middleware acts on root
fields only, `ROOT_FIELDS_ONLY`). Everything else (the event cursor's root, masking errors, the operation's
metrics) stays with PreparedOperations.execute.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from typing import Any, Awaitable, Callable, Sequence

from graphql import (
    DirectiveNode, DocumentNode, FieldNode, FragmentDefinitionNode, GraphQLEnumType, GraphQLError, GraphQLField,
    GraphQLNonNull, GraphQLObjectType, GraphQLResolveInfoHelpers, GraphQLScalarType, GraphQLSchema,
    OperationDefinitionNode, OperationType, VariableNode, Visitor, get_argument_values,
    get_operation_ast, get_variable_values, visit,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.utilities import coerce_input_value
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo
from strawberry.types import ExecutionResult

from schema.plain_execution import PlainFieldExecutionContext, Plan

#: graphql-core's default, which its executor passes to get_variable_values
MAX_COERCION_ERRORS = 50


@dataclass(frozen=True)
class DirectField:
    """What a direct run of a prepared document needs, found once (`compile_direct`)."""

    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    parent_type: GraphQLObjectType
    field_def: GraphQLField
    field_nodes: list[FieldNode]
    response_key: str
    object_type: GraphQLObjectType
    #: the plan of the field's selection on `object_type` (schema/plain_execution.py)
    plan: Plan
    #: (name, signature, required) of each variable when all are scalars or enums without a
    #: default: coerced here (`_scalar_variables`); None: by graphql-core's get_variable_values
    scalar_variables: tuple[tuple[str, GraphQLVariableSignature, bool], ...] | None
    #: the field's arguments from the coerced variables, when every variable is required and the
    #: arguments are built of dicts, lists and constants (`_arguments_of`); None: graphql-core's
    #: get_argument_values for each request
    arguments: Callable[[dict[str, Any]], dict[str, Any]] | None = None


class _Variables(Visitor):
    """The variables' names that a literal uses, in the order they appear."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.names.append(node.name.value)


class _AnyDirective(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        self.found = True
        return self.BREAK


def compile_direct(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                   executor: Any) -> DirectField | None:
    """The document's direct run, or None when it does not qualify (see the module's docstring).
    `executor`: a PlainFieldExecutionContext built for this document (it compiles the plan)."""
    if not isinstance(executor, PlainFieldExecutionContext):
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    parent_type = {OperationType.QUERY: schema.query_type,
                   OperationType.MUTATION: schema.mutation_type}.get(operation.operation)
    selections = operation.selection_set.selections
    if parent_type is None or len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    node = selections[0]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    if any(d.variable_definitions for d in fragments.values()) or _has_directive(document):
        return None
    name = node.name.value
    field_def = parent_type.fields.get(name)
    if name.startswith("__") or field_def is None or field_def.resolve is None:
        return None
    field_type = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
    if not isinstance(field_type, GraphQLObjectType):
        return None
    plan = executor.plan_root_field(field_type, [FieldDetails(node, None)])
    if plan is None:
        return None
    signatures = _signatures(schema, operation)
    return DirectField(operation, fragments, parent_type, field_def, [node],
                       node.alias.value if node.alias else name, field_type, plan, signatures,
                       _arguments_of(field_def, node, signatures))


def _signatures(schema: GraphQLSchema, operation: OperationDefinitionNode
                ) -> tuple[tuple[str, GraphQLVariableSignature, bool], ...] | None:
    """The variables' signatures, as graphql-core's coerce_variable_values finds them for every
    request, when each is a scalar or an enum without a default value; else None."""
    found = []
    for definition in operation.variable_definitions or ():
        signature = get_variable_signature(schema, definition)
        if isinstance(signature, GraphQLError) or definition.default_value is not None:
            return None
        variable_type = signature.type
        required = isinstance(variable_type, GraphQLNonNull)
        named = variable_type.of_type if isinstance(variable_type, GraphQLNonNull) else variable_type
        if not isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
            return None
        found.append((signature.name, signature, required))
    return tuple(found)


def _scalar_variables(signatures: tuple[tuple[str, GraphQLVariableSignature, bool], ...],
                      inputs: dict[str, Any]) -> VariableValues | None:
    """The variables as graphql-core's coerce_variable_values gives them (the same sources and
    values), or None when one of them is missing or invalid: its error is graphql-core's to give."""
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for name, signature, required in signatures:
        value = inputs.get(name, Undefined)
        if value is Undefined:
            if required:
                return None
            sources[name] = VariableValueSource(signature)  # a nullable variable left out: omitted
            continue
        sources[name] = VariableValueSource(signature, value)
        value = coerce_input_value(value, signature.type)
        if value is Undefined:
            return None
        coerced[name] = value
    return VariableValues(sources, coerced)


class _Mark:
    """Where a variable's value goes in the arguments' template (`_arguments_of`)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


#: the constants a template may share between requests (immutable; dicts and lists are rebuilt)
_CONSTANTS = (str, int, float, bool, type(None), Enum)


def _arguments_of(field_def: GraphQLField, node: FieldNode,
                  signatures: tuple[tuple[str, GraphQLVariableSignature, bool], ...] | None
                  ) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The field's arguments as a function of the coerced variables, or None.

    Why: graphql-core's get_argument_values walks the arguments' literals for every request
    (`sendMessage(input: {chatId: $chat, text: $text})`: about 700 bytecodes, a twentieth of a
    message's Python). When every variable is required, no value it can take changes that walk:
    a variable's value is never null or missing there (`_scalar_variables` refuses those), and
    coerce_input_literal passes it through unchecked. So the walk is made once, with marks in the
    variables' places, and its result (the template) is rebuilt for each request by a generated
    expression: fresh dicts and lists, the variables' values where the marks were, constants
    shared. None when a variable may be null or missing, when a value other than a dict, a list or
    an immutable constant comes out (an input type's `out_type`, a custom scalar's object), or when
    a mark is not found where the literals use the variable."""
    if signatures is None or not all(required for _, _, required in signatures):
        return None
    marks = {name: _Mark(name) for name, _, _ in signatures}
    sources = {name: VariableValueSource(signature, marks[name]) for name, signature, _ in signatures}
    try:
        template = get_argument_values(field_def, node, VariableValues(sources, dict(marks)), None, True)
    except Exception:  # noqa: BLE001 - graphql-core's path reports it, for every request
        return None
    constants: list[Any] = []
    found: list[str] = []

    def expression(value: Any) -> str | None:
        if type(value) is _Mark:
            found.append(value.name)
            return f"variables[{value.name!r}]"
        if type(value) is dict:
            items = [(key, expression(item)) for key, item in value.items()]
            if any(not isinstance(key, str) or code is None for key, code in items):
                return None
            return "{" + ", ".join(f"{key!r}: {code}" for key, code in items) + "}"
        if type(value) is list:
            codes = [expression(item) for item in value]
            return None if any(code is None for code in codes) else "[" + ", ".join(codes) + "]"  # type: ignore[arg-type]
        if not isinstance(value, _CONSTANTS):
            return None
        constants.append(value)
        return f"constants[{len(constants) - 1}]"

    code = expression(template)
    variables = _Variables()
    for argument in node.arguments or ():
        visit(argument.value, variables)
    used = variables.names
    if code is None or sorted(found) != sorted(used):
        return None
    return eval(f"lambda variables: {code}", {"constants": tuple(constants)})  # noqa: S307 - our own expression


def _has_directive(document: DocumentNode) -> bool:
    visitor = _AnyDirective()
    visit(document, visitor)
    return visitor.found


async def run_direct(direct: DirectField, *, schema: GraphQLSchema, root: Any, variables: dict[str, Any] | None,
                     context: Any, hide_suggestions: bool,
                     complete: Callable[[list], Awaitable[ExecutionResult]]) -> ExecutionResult | None:
    """The answer of a direct run, or None when nothing ran and graphql-core's path must answer.
    `complete`: graphql-core's execution of the document with the middleware given
    (PreparedOperations._graphql_core), for what the plan does not take."""
    coerced: VariableValues | list | None
    if direct.scalar_variables is not None:
        coerced = _scalar_variables(direct.scalar_variables, variables or {})
    else:
        coerced = get_variable_values(schema, direct.operation.variable_definitions or (), variables or {},
                                      max_errors=MAX_COERCION_ERRORS, hide_suggestions=hide_suggestions)
    if coerced is None or isinstance(coerced, list):
        return None  # graphql-core's path reports what is wrong
    field_def, node = direct.field_def, direct.field_nodes[0]
    if direct.arguments is not None:
        arguments = direct.arguments(coerced.coerced)
    else:
        try:
            arguments = get_argument_values(field_def, node, coerced, None, hide_suggestions) \
                if field_def.args or node.arguments else {}
        except Exception:  # noqa: BLE001 - nothing ran: graphql-core's path reports it
            return None
    # Strawberry's executor's info, field for field (build_resolve_info): no abort signal and no
    # operation extensions, as a prepared run passes none
    info: Any = _OperationContextAwareGraphQLResolveInfo(
        node.name.value, direct.field_nodes, field_def.type, direct.parent_type,
        Path(None, direct.response_key, direct.parent_type.name), schema, direct.fragments, root,
        direct.operation, coerced.coerced, context, optimized_is_awaitable, None, _HELPERS,
        None)  # type: ignore[arg-type]  # Strawberry's executor passes None when it was given none
    resolved: _Resolved
    try:
        value = field_def.resolve(root, info, **arguments)  # type: ignore[misc]
        if optimized_is_awaitable(value):
            value = await value
    except Exception as error:  # noqa: BLE001 - graphql-core reports it, below
        resolved = _Resolved(direct.response_key, error=error)
    else:
        object_type = direct.object_type
        try:
            if value is not None and (object_type.is_type_of is None or object_type.is_type_of(value, info) is True):
                return ExecutionResult(data={direct.response_key: direct.plan(value)}, errors=None)
        except Exception:  # noqa: BLE001 - _Unplanned, or the type's is_type_of or a planned read raised:
            pass  # graphql-core completes the value again and locates any error
        resolved = _Resolved(direct.response_key, value=value)
    # the resolver ran: graphql-core completes what it gave (its errors, paths and nulls)
    return await complete([resolved])


class _Resolved:
    """A graphql-core middleware: the root field answers what its resolver gave already (a value
    or an exception); every other field resolves as usual, and objects below are still planned."""

    openchannels_root_fields_only = True  # plain_execution.ROOT_FIELDS_ONLY

    def __init__(self, response_key: str, *, value: Any = None, error: Exception | None = None) -> None:
        self.response_key, self.value, self.error = response_key, value, error

    def resolve(self, next_: Any, root: Any, info: Any, **arguments: Any) -> Any:
        if info.path.prev is None and info.path.key == self.response_key:
            if self.error is not None:
                raise self.error
            return self.value
        return next_(root, info, **arguments)


#: work a resolver asks to be settled in the background (its helpers' `track`), kept until it is
_BACKGROUND: set[asyncio.Future] = set()


def _track(values: Sequence[Any]) -> None:
    """As graphql-core's executor tracks it: awaitables settled in the background, errors observed."""
    awaitables = [value for value in values if optimized_is_awaitable(value)]
    if awaitables:
        future = asyncio.gather(*awaitables, return_exceptions=True)
        _BACKGROUND.add(future)
        future.add_done_callback(_BACKGROUND.discard)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


_HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=_track)

__all__ = ["DirectField", "compile_direct", "run_direct"]
