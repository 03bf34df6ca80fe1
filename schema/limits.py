"""Query limits: what one operation may ask for, checked before any resolver runs.

Each request's operation is measured once, after parsing and with its variables resolved:

- depth: the deepest nesting of fields (`{ me { operator { name } } }` is 3);
- aliases: fields with an alias (fragments counted where they are spread);
- root fields: the fields of the operation's top level (aliases of one field count apart);
- cost: how many objects the lists and connections may return. Each list or connection
  field costs its page size times the page sizes of the lists it is nested in; a paginated
  field's size is its `first` / `last` / `limit` (or its default page size), a plain list
  counts as `LIST_SIZE_ESTIMATE` items, and a connection's `edges` add nothing of their own;
- page size: `first` / `last` / `limit` of every paginated field (`PAGINATED_FIELDS`) must be
  within the field's bounds (an `INVALID_INPUT` error, as the services would give);
- introspection: at most `max_introspections` (one) `__schema` or `__type` field, counted where
  fragments are spread. Introspection fields count in every other limit like any field (their
  lists at `LIST_SIZE_ESTIMATE` items): a client's standard introspection query (GraphiQL's,
  Apollo's, graphql-core's `get_introspection_query()`) passes, eight aliased `__schema`
  selections do not;
- tokens: parsing stops beyond `max_tokens` (graphql-core's `max_tokens`).

Every measure saturates at `MEASURE_CEILING`: page sizes sent as variables are unbounded
integers, and a product of them must not become a number no JSON encoder takes (orjson stops
at 64 bits) in the error's `extensions.actual`.

A request over a limit gets a top-level error with `extensions.code = "QUERY_TOO_COMPLEX"`
(`extensions.limit` names the limit, `maximum` and `actual` the numbers) and no resolver
runs. The measure depends on the variables: it runs on every request, after the document's
(cached) validation (Strawberry's ValidationCache, schema/__init__.py).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLNamedType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeInfo,
    TypeMetaFieldDef,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from infrastructure.lru import LRU
from schema.error_policy import internal_error

from resolvers.pages import MAX_FEED_PAGE, MAX_GIFS, MAX_PAGE_SIZE


TOO_COMPLEX = "QUERY_TOO_COMPLEX"
#: how many items a list without page arguments is assumed to hold, for the cost
LIST_SIZE_ESTIMATE = 10
#: the fields of a connection type that list the page the connection field already counted
CONNECTION_PAGE_FIELDS = ("edges", "nodes")
#: the root fields that introspect the schema (`__typename` is not one: it costs nothing)
INTROSPECTION_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}
#: where every measure stops growing (2^53 - 1: exact in any JSON reader, far within 64 bits)
MEASURE_CEILING = 2**53 - 1
#: distinct (document, operation, page sizes) whose measure is remembered
MEASURES_CACHE_SIZE = 512


class ValidationResults(LRU[tuple, tuple[GraphQLError, ...]]):
    """A bounded LRU of errors by key, kept as tuples (callers add to copies)."""

    def __init__(self, size: int = MEASURES_CACHE_SIZE) -> None:
        super().__init__(size)

    def put(self, key: tuple, errors: Sequence[GraphQLError]) -> None:  # takes any sequence, keeps a tuple
        super().put(key, tuple(errors))


@dataclass(frozen=True)
class PageBounds:
    """The page arguments of a paginated field: sizes from `minimum` to `maximum`, `default` when absent."""

    default: int
    maximum: int
    minimum: int = 0
    arguments: tuple[str, ...] = ("first", "last")


_CONNECTION = PageBounds(default=50, maximum=MAX_PAGE_SIZE)

#: every field of the schema that takes a page size (tests/graphql/test_query_limits.py checks
#: that every `first` / `last` / `limit` argument of the schema is listed here)
PAGINATED_FIELDS: dict[str, PageBounds] = {
    "Query.conversations": _CONNECTION,
    "Query.searchMessages": _CONNECTION,
    "Chat.messages": _CONNECTION,
    "Client.chats": _CONNECTION,
    "Client.messages": _CONNECTION,
    "Chat.timeline": PageBounds(default=50, maximum=MAX_PAGE_SIZE, arguments=("first",)),
    "Query.webhookDeliveries": PageBounds(default=50, maximum=MAX_PAGE_SIZE, arguments=("first",)),
    "Query.feed": PageBounds(default=20, maximum=MAX_FEED_PAGE, arguments=("first",)),
    "Query.searchGifs": PageBounds(default=20, maximum=MAX_GIFS, minimum=1, arguments=("limit",)),
}


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 15
    max_aliases: int = 30
    max_root_fields: int = 20
    max_cost: int = 10_000
    max_tokens: int = 2_000
    max_introspections: int = 1

    @classmethod
    def from_settings(cls, settings: Any) -> QueryLimits:
        return cls(max_depth=settings.query_max_depth, max_aliases=settings.query_max_aliases,
                   max_root_fields=settings.query_max_root_fields, max_cost=settings.query_max_cost,
                   max_tokens=settings.query_max_tokens)  # one introspection per operation, always


@dataclass
class Measure:
    """What a selection set asks for (see the module docstring)."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    cost: int = 0
    introspections: int = 0

    def add(self, other: Measure) -> None:
        self.depth = max(self.depth, other.depth)
        self.aliases = _saturated(self.aliases + other.aliases)
        self.fields = _saturated(self.fields + other.fields)
        self.cost = _saturated(self.cost + other.cost)
        self.introspections = _saturated(self.introspections + other.introspections)


def _saturated(number: int) -> int:
    return min(number, MEASURE_CEILING)


@dataclass
class _Walker:
    """Measures one operation. Fragments are measured once (their measure does not depend on
    where they are spread: the cost scales with the enclosing page sizes), so a document that
    spreads fragments exponentially is measured in linear time."""

    context: ValidationContext
    variables: Mapping[str, Any]
    operation: OperationDefinitionNode
    page_errors: list[GraphQLError] = field(default_factory=list)
    _fragments: dict[str, Measure] = field(default_factory=dict)
    _in_progress: set[str] = field(default_factory=set)

    def measure(self) -> Measure:
        root = self.context.schema.get_root_type(self.operation.operation)
        return self._selection_set(self.operation.selection_set, root) if root else Measure()

    def _selection_set(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> Measure:
        total = Measure()
        if selection_set is None:
            return total
        for selection in selection_set.selections or ():
            if isinstance(selection, FieldNode):
                total.add(self._field(selection, parent))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.context.schema.get_type(condition.name.value) if condition else parent
                total.add(self._selection_set(selection.selection_set, inner))
            elif isinstance(selection, FragmentSpreadNode):
                total.add(self._fragment(selection.name.value))
        return total

    def _fragment(self, name: str) -> Measure:
        if name in self._fragments:
            return self._fragments[name]
        definition = self.context.get_fragment(name)
        if definition is None or name in self._in_progress:  # unknown or a cycle: other rules report it
            return Measure()
        self._in_progress.add(name)
        measure = self._selection_set(definition.selection_set,
                                      self.context.schema.get_type(definition.type_condition.name.value))
        self._in_progress.discard(name)
        self._fragments[name] = measure
        return measure

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Measure:
        name = node.name.value
        own = Measure(depth=1, aliases=1 if node.alias else 0, fields=1,
                      introspections=1 if name in INTROSPECTION_FIELDS else 0)
        if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return own
        # introspection's meta fields are not in the root type's fields (the __Schema, __Type, ...
        # types below them are ordinary object types)
        definition = INTROSPECTION_FIELDS.get(name) or parent.fields.get(name)
        if definition is None:
            return own  # `__typename`, or an unknown field: FieldsOnCorrectTypeRule reports it
        size = self._list_size(node, parent, name, definition)
        inner = self._selection_set(node.selection_set, get_named_type(definition.type))
        own.depth += inner.depth
        own.aliases = _saturated(own.aliases + inner.aliases)
        own.introspections = _saturated(own.introspections + inner.introspections)
        own.cost = _saturated((size or 0) + (size or 1) * inner.cost)
        return own

    def _is_connection_page(self, parent: GraphQLNamedType, name: str) -> bool:
        return parent.name.endswith("Connection") and name in CONNECTION_PAGE_FIELDS

    def _list_size(self, node: FieldNode, parent: GraphQLNamedType, name: str, definition: GraphQLField) -> int | None:
        """How many items this field may return, or None when it is not a list."""
        bounds = PAGINATED_FIELDS.get(f"{parent.name}.{name}")
        if bounds is not None:
            return self._page_size(node, f"{parent.name}.{name}", bounds)
        if is_list_type(get_nullable_type(definition.type)):
            # a connection's edges are its page, already counted by the connection field
            return None if self._is_connection_page(parent, name) else LIST_SIZE_ESTIMATE
        return None

    def _page_size(self, node: FieldNode, coordinate: str, bounds: PageBounds) -> int:
        sizes = []
        for argument in node.arguments or ():
            if argument.name.value not in bounds.arguments:
                continue
            value = self._int_value(argument.value)
            if value is None:
                continue
            if not bounds.minimum <= value <= bounds.maximum:
                self.page_errors.append(GraphQLError(
                    f"`{argument.name.value}` must be between {bounds.minimum} and {bounds.maximum} "
                    f"(the maximum page size of {coordinate}).",
                    argument, extensions={"code": "INVALID_INPUT"}))
            sizes.append(value)
        return max(sizes) if sizes else bounds.default

    def _int_value(self, value_node: Any) -> int | None:
        """The argument's value with the request's variables (a variable's own default when absent)."""
        if isinstance(value_node, VariableNode):
            name = value_node.name.value
            if name in self.variables:
                value = self.variables[name]
                return value if isinstance(value, int) and not isinstance(value, bool) else None
            default = next((d.default_value for d in self.operation.variable_definitions or ()
                            if d.variable.name.value == name), None)
            return self._int_value(default) if default is not None else None
        value = value_from_ast(value_node, GraphQLInt)
        return value if isinstance(value, int) else None


def _selected_operations(context: ValidationContext, operation_name: str | None) -> Iterator[OperationDefinitionNode]:
    for definition in context.document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if operation_name is None or (definition.name and definition.name.value == operation_name):
                yield definition


def _too_complex(limit: str, actual: int, maximum: int, what: str, node: Any) -> GraphQLError:
    return GraphQLError(f"The operation is too complex: {what} {actual}, at most {maximum} allowed.", node,
                        extensions={"code": TOO_COMPLEX, "limit": limit, "maximum": maximum, "actual": actual})


def limit_errors(limits: QueryLimits, request: ExecutionContext) -> list[GraphQLError]:
    """The request's operation measured with its variables: an error per limit it is over."""
    document = request.graphql_document
    if document is None:
        return []
    variables = request.variables if isinstance(request.variables, Mapping) else {}
    return document_limit_errors(limits, request.schema._schema, document, request.operation_name, variables)


def document_limit_errors(limits: QueryLimits, schema: GraphQLSchema, document: DocumentNode,
                          operation_name: str | None = None,
                          variables: Mapping[str, Any] | None = None) -> list[GraphQLError]:
    """A document's operations (or the one named) measured: an error per limit it is over. Without
    variables, a page size given by a variable counts as its default (or the field's default page)."""
    errors: list[GraphQLError] = []
    variables = variables or {}
    context = ValidationContext(schema, document, TypeInfo(schema), errors.append)
    try:
        for operation in _selected_operations(context, operation_name):
            walker = _Walker(context, variables, operation)
            measure = walker.measure()
            errors += walker.page_errors
            for limit, actual, maximum, what in (
                ("depth", measure.depth, limits.max_depth, "depth"),
                ("aliases", measure.aliases, limits.max_aliases, "aliases"),
                ("rootFields", measure.fields, limits.max_root_fields, "root fields"),
                ("cost", measure.cost, limits.max_cost, "cost (list items it may return)"),
                ("introspection", measure.introspections, limits.max_introspections,
                 "introspection fields (`__schema`, `__type`)"),
            ):
                if actual > maximum:
                    errors.append(_too_complex(limit, actual, maximum, what, operation))
    except Exception as error:  # noqa: BLE001 - a fault in measuring is masked like any other
        errors.append(internal_error(error, "measuring the query limits"))
    return errors


class QueryLimitsExtension(SchemaExtension):
    """Adds the limits to every operation (HTTP and WebSocket alike)."""

    def __init__(self, limits: QueryLimits, measured: ValidationResults | None = None) -> None:
        self.limits = limits
        self.measured = measured

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.limits.max_tokens
        yield

    def on_validate(self) -> Iterator[None]:
        """After the (cached) validation of the document, which must come first: see schema/__init__.py."""
        context = self.execution_context
        key = _measure_key(context) if self.measured is not None else None
        errors: Sequence[GraphQLError] | None = \
            self.measured.get(key) if key is not None and self.measured is not None else None
        if errors is None:
            errors = limit_errors(self.limits, context)
            if key is not None and self.measured is not None and \
                    not any((e.extensions or {}).get("code") == "INTERNAL_SERVER_ERROR" for e in errors):
                self.measured.put(key, errors)
        if errors:
            context.pre_execution_errors = [*(context.pre_execution_errors or []), *errors]
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if "tokens. Parsing aborted" in error.message:  # graphql-core's max_tokens
                error.extensions = {"code": TOO_COMPLEX, "limit": "tokens", "maximum": self.limits.max_tokens}


def query_limits(limits: QueryLimits):
    """A factory for `Schema(extensions=...)`: one extension per request, the measures remembered
    per (document, operation, integer variables) in a bounded LRU shared by the schema's requests."""
    measured = ValidationResults()
    return lambda: QueryLimitsExtension(limits, measured)


def _measure_key(context: ExecutionContext) -> tuple | None:
    """What a measure depends on: the document's text, the operation, and which variables are given
    with which integer values (only page sizes are read from them: any other value counts as no size)."""
    if not context.query:
        return None
    return measure_key(context.query, context.operation_name, context.variables)


def measure_key(query: str, operation_name: str | None, variables: object) -> tuple:
    """_measure_key from a request's parts: also the key of the operations prepared to run without
    Strawberry's steps (schema/prepared_operations.py), which run only what passed its limits."""
    variables = variables if isinstance(variables, Mapping) else {}
    return (query, operation_name,
            tuple(sorted((str(name), value if type(value) is int else None) for name, value in variables.items())))
