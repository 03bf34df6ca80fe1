"""A cheaper execution path for objects whose selected fields are all plain values.

Why: graphql-core resolves every field of every object on its own: a Path, a resolve info,
a resolver call and a completion step, about 5 µs each. A 50-chat list with a client, an
operator and a last message is some 450 of them, more than the SQL behind it. Most of these
fields only read an attribute (`title`, `client.name`) or a relation a list resolver already
loaded for the whole page (resolvers/prefetch.py).

So, before executing an object's selection field by field, the executor compiles it once per
request (per type and selection) into a plan: for each response key, how to read the value
and how to complete it (a scalar's or enum's serialisation, a nested plan, a list of them).
A field is plain when it takes no arguments, has no field extension or permission, and either
has no resolver (an attribute) or is declared `prefetched_field` and the value is in the
object's `prefetched` dict. Anything else in the selection (a field with arguments, a
resolver, an interface or union, `@defer`) leaves the object to graphql-core.

The plan gives up on the object (returns `UNPLANNED`) whenever the slow path would do
something it does not: a missing prefetched value, null in a non-null position, a value of
the wrong type, an exception. graphql-core then executes that object as usual, so errors,
their paths and null propagation are exactly graphql-core's; plain fields have no side
effects, so reading them twice is harmless.
"""
from __future__ import annotations

import keyword
import weakref
from collections.abc import Callable
from typing import Any, cast

from graphql import (
    GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, GraphQLString,
    GraphQLBoolean, GraphQLID, GraphQLInt, GraphQLResolveInfoHelpers, OperationDefinitionNode, VariableNode, Visitor, visit,
)
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from infrastructure.lru import LRU

#: the plan could not complete this object: let graphql-core execute it
UNPLANNED = object()
_MISSING = object()

#: `strawberry.field(metadata=...)` key of a relation served from `prefetched` when present
PREFETCHED_KEY = "openchannels.prefetched"

Plan = Callable[[Any], Any]

#: a graphql-core middleware with this attribute true acts on root fields only, which plans never
#: read (they complete the objects below them): plans stay on (schema/direct_field.py's `_Resolved`)
ROOT_FIELDS_ONLY = "openchannels_root_fields_only"


def prefetched_field(name: str) -> dict[str, str]:
    """Metadata for a resolver field whose value a list resolver may have put in `prefetched[name]`:
    the resolver must return that value when it is there (the plan reads it without the resolver)."""
    return {PREFETCHED_KEY: name}


class _Unplanned(Exception):
    """Raised inside a plan to abandon the object (cheaper than checking every return)."""


#: compiled plans shared by requests (see `_shared_plan`)
_SHARED_PLANS: LRU[tuple, tuple] = LRU(4096)
#: id(operation) -> (the operation, kept so that its id is not reused; its document's fragments;
#: the names of the variables read by a directive in either, sorted)
_DIRECTIVE_VARIABLES: LRU[int, tuple] = LRU(4096)
#: a directive reads a variable whose value is not a boolean or null: plans are not shared
_UNSHAREABLE = object()


def _directive_variables(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> tuple[str, ...]:
    """The variables read by the directives of an operation and its document's fragments: all
    that a plan may depend on (a plain field takes no arguments; see the module's docstring)."""
    found = _DIRECTIVE_VARIABLES.get(id(operation))
    if found is None or found[0] is not operation:  # one operation node belongs to one document
        names: set[str] = set()
        for node in (operation, *fragments.values()):
            visit(node, _DirectiveVariables(names))
        found = (operation, tuple(fragments.values()), tuple(sorted(names)))
        _DIRECTIVE_VARIABLES.put(id(operation), found)
    return found[2]


class _DirectiveVariables(Visitor):
    """Collects the names of the variables found inside directives."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names
        self.depth = 0

    def enter_directive(self, *_: Any) -> None:
        self.depth += 1

    def leave_directive(self, *_: Any) -> None:
        self.depth -= 1

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        if self.depth:
            self.names.add(node.name.value)


def _helpers_of(executor: StrawberryGraphQLCoreExecutionContext) -> GraphQLResolveInfoHelpers:
    """The executor's `async_helpers` (what a resolver's info offers to gather and track work)
    without a reference to the executor: graphql-core's are its bound methods, so every executor
    was in a reference cycle with them, and with it everything the request made (its context,
    loaders, rows) outlived the request until a cyclic collection found it. Young collections
    then moved it to the older generation, whose collections walked it all (23 ms each under B1b)."""
    ref = weakref.ref(executor)

    def gather(values: Any) -> Any:
        return cast(StrawberryGraphQLCoreExecutionContext, ref()).gather_async_work(values)

    def track(values: Any) -> None:
        cast(StrawberryGraphQLCoreExecutionContext, ref()).track_async_work(values)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


class PlainFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with plans for objects of plain fields (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _helpers_of(self)
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Plan | None]] = {}
        self._decisive_variables: tuple | object | None = None

    def collect_and_execute_subfields(self, return_type, field_details_list, path, result, position_context):
        plan = self._plan_for(return_type, field_details_list)
        if plan is not None:
            try:
                return plan(result)
            except _Unplanned:
                pass
        return super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context)

    def plan_root_field(self, object_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        """The plan of a root field's selection on its object type, or None (schema/direct_field.py
        keeps it with the prepared document: `field_details_list` must live as long as the plan)."""
        return self._compile_object(object_type, field_details_list)

    def _plan_for(self, object_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        """The object's plan for this selection, or None when some field is not plain (memoised
        like graphql-core's collect_subfields: on the identity of the field list)."""
        key = (object_type, id(field_details_list))
        cached = self._plans.get(key)
        if cached is None:
            cached = (field_details_list, self._shared_plan(object_type, field_details_list))
            self._plans[key] = cached
        return cached[1]

    def _shared_plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        """The plan from an earlier request of the same document and variables, or a new one.

        A console polls the same document all day, and the parse cache (Strawberry's ParserCache)
        hands every request the same syntax tree: the plan is keyed on the identity of its
        field nodes, the schema, the operation and the values of the variables its directives
        read (which decide @skip/@include); the cache entry holds the schema, the operation and
        its fragments, so none of these identities can be reused while it is there.
        """
        key = self._shared_key(object_type, field_details_list)
        if key is None:
            return self._compile_object(object_type, field_details_list)
        found = _SHARED_PLANS.get(key)
        if found is None:
            plan = self._compile_object(object_type, field_details_list)
            found = (self.schema, self.operation, self.fragment_definitions, plan)
            _SHARED_PLANS.put(key, found)
        return found[3]

    def _shared_key(self, object_type: GraphQLObjectType, field_details_list: Any) -> tuple | None:
        """The plan's key, or None when it cannot be shared.

        Only the variables read by the document's directives go in, and only when each is a
        boolean or null: a key outlives its request, so it must never hold the request's other
        values (an `Upload` kept here kept its file open for as long as the entry lived)."""
        if any(d.fragment_variable_values is not None for d in field_details_list):
            return None
        decisive = self._decisive_variables
        if decisive is None:
            decisive = self._decisive_variables = self._read_decisive_variables()
        if decisive is _UNSHAREABLE:
            return None
        return (id(self.schema), id(self.operation), decisive, object_type.name,
                tuple(id(d.node) for d in field_details_list))

    def _read_decisive_variables(self) -> tuple | object:
        """(name, value) of each variable the document's directives read, or _UNSHAREABLE."""
        # graphql-core's VariableValues (its `coerced` dict) or, in older releases, the dict itself
        variables = cast(dict[str, Any], getattr(self.variable_values, "coerced", self.variable_values) or {})
        names = _directive_variables(self.operation, self.fragment_definitions)
        decisive = tuple((name, variables.get(name)) for name in names)
        if any(value is not None and type(value) is not bool for _, value in decisive):
            return _UNSHAREABLE  # a custom directive's argument: compiled for this request only
        return decisive

    def _compile_object(self, object_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        middlewares = self.middleware_manager.middlewares if self.middleware_manager is not None else ()
        if any(not getattr(middleware, ROOT_FIELDS_ONLY, False) for middleware in middlewares or ()):
            return None  # an extension's resolve() hook must see every field (a plan reads no root field)
        grouped, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if defer_usages:
            return None
        python_class = _python_class(object_type)
        if python_class is None:
            return None
        steps = []
        for response_key, details in grouped.items():
            step = self._compile_field(object_type, details)
            if step is None:
                return None
            steps.append((response_key, *step))
        return _object_plan(python_class, tuple(steps))

    def _compile_field(self, object_type: GraphQLObjectType, details: Any) -> tuple[Plan, str | None, Plan] | None:
        """(read the value from the source, the attribute `read` reads if it only reads one,
        complete it), or None when the field is not plain."""
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            type_name = object_type.name
            return (lambda source: type_name), None, _identity
        if node.arguments or any(d.node.arguments for d in details) or any(d.node.directives for d in details):
            return None
        field_def = object_type.fields.get(name)
        if field_def is None or field_def.args:
            return None
        reader = _reader(field_def)
        if reader is None:
            return None
        complete = self._compile_type(field_def.type, details)
        return (*reader, complete) if complete is not None else None

    def _compile_type(self, graphql_type: Any, details: Any) -> Plan | None:
        """How to complete a value of this type, or None when it cannot be planned."""
        if isinstance(graphql_type, GraphQLNonNull):
            if isinstance(graphql_type.of_type, (GraphQLScalarType, GraphQLEnumType)):
                return _leaf(graphql_type.of_type, non_null=True)
            inner = self._compile_type(graphql_type.of_type, details)
            return _non_null(inner) if inner is not None else None
        if isinstance(graphql_type, GraphQLList):
            inner = self._compile_type(graphql_type.of_type, details)
            return _list_of(inner) if inner is not None else None
        if isinstance(graphql_type, (GraphQLScalarType, GraphQLEnumType)):
            return _leaf(graphql_type)
        if isinstance(graphql_type, GraphQLObjectType):
            plan = self._plan_for(graphql_type, details)
            return _nullable(plan) if plan is not None else None
        return None  # interfaces and unions: graphql-core resolves the runtime type


def _identity(value: Any) -> Any:
    return value


def _python_class(object_type: GraphQLObjectType) -> type | None:
    definition = object_type.extensions.get("strawberry-definition") if object_type.extensions else None
    origin = getattr(definition, "origin", None)
    return origin if isinstance(origin, type) else None


def _reader(field_def: Any) -> tuple[Plan, str | None] | None:
    """How to read a plain field from its source, and the attribute it reads when that is all
    it does (the generated plan reads it inline); None when the field is not plain."""
    field = field_def.extensions.get("strawberry-definition") if field_def.extensions else None
    if field is None or field.extensions or getattr(field, "permission_classes", None):
        return None
    if field.is_basic_field:
        python_name, default_resolver = field.python_name, field.default_resolver
        if default_resolver is getattr:
            inline = python_name if python_name.isidentifier() and not keyword.iskeyword(python_name) else None
            return (lambda source: getattr(source, python_name)), inline
        return (lambda source: default_resolver(source, python_name)), None
    prefetched = (field.metadata or {}).get(PREFETCHED_KEY)
    if prefetched is None:
        return None

    def read_prefetched(source: Any) -> Any:
        value = source.prefetched.get(prefetched, _MISSING)
        if value is _MISSING:
            raise _Unplanned
        return value

    read_prefetched.prefetched_name = prefetched  # type: ignore[attr-defined]  # read inline by the plan
    return read_prefetched, None


def _object_plan(python_class: type, steps: tuple) -> Plan:
    """The object's plan as one generated function: a dict display with an expression per key.
    (A dict comprehension over (key, read, complete) steps spent more on iterating and calling
    than on the values: about a fifth of a 50-chat list.) Attributes and prefetched relations are
    read inline, and so are the common completions (`_inline`): a value of a leaf's exact Python
    type, an enum member's name, a nested object's plan; anything else calls its completion."""
    namespace: dict[str, Any] = {"python_class": python_class, "_Unplanned": _Unplanned, "_MISSING": _MISSING,
                                 "_unplanned": _unplanned}
    entries = []
    for index, (key, read, attribute, complete) in enumerate(steps):
        namespace[f"complete_{index}"] = complete
        prefetched = getattr(read, "prefetched_name", None)
        if attribute is not None:
            value = f"source.{attribute}"
        elif prefetched is not None:
            value = (f"(p{index} if (p{index} := source.prefetched.get({prefetched!r}, _MISSING)) is not _MISSING "
                     "else _unplanned())")
        else:
            namespace[f"read_{index}"] = read
            value = f"read_{index}(source)"
        entries.append(f"{key!r}: {_inline(complete, value, index, namespace)}")
    source_code = (
        "def complete_object(source):\n"
        "    if not isinstance(source, python_class):\n"
        "        raise _Unplanned\n"
        "    try:\n"
        f"        return {{{', '.join(entries)}}}\n"
        "    except _Unplanned:\n"
        "        raise\n"
        "    except Exception:  # the slow path reports it, with its path\n"
        "        raise _Unplanned\n"
    )
    exec(compile(source_code, f"<plan of {python_class.__name__}>", "exec"), namespace)
    return namespace["complete_object"]


def _inline(complete: Plan, value: str, index: int, namespace: dict[str, Any]) -> str:
    """The expression that completes `value` (an expression) as `complete` does: its common case
    written out, every other value handed to `complete` itself (which also raises _Unplanned)."""
    v, call = f"v{index}", f"complete_{index}(v{index})"
    native = getattr(complete, "native", None)
    if native is not None:  # a leaf whose value of that exact type is its output (`_leaf`)
        check = f"type({v} := {value}) is {native.__name__}"
        if native is int:
            check += f" and {_INT_RANGE.start} <= {v} < {_INT_RANGE.stop}"
        return f"({v} if {check} else {call})"
    names = getattr(complete, "enum_names", None)
    if names is not None:  # an enum: its members' names, computed when the plan was made
        namespace[f"names_{index}"] = names
        return f"(n{index} if (n{index} := names_{index}.get({v} := {value})) is not None else {call})"
    nested = getattr(complete, "object_plan", None)
    if nested is not None:  # a nested object, null or not (`_nullable`, `_non_null`)
        namespace[f"plan_{index}"] = nested
        if_null = "_unplanned()" if getattr(complete, "non_null", False) else "None"
        return f"({if_null} if ({v} := {value}) is None else plan_{index}({v}))"
    return f"complete_{index}({value})"


def _unplanned() -> Any:
    raise _Unplanned


def _non_null(inner: Plan) -> Plan:
    def complete(value: Any) -> Any:
        if value is None:
            raise _Unplanned
        return inner(value)

    object_plan = getattr(inner, "object_plan", None)
    if object_plan is not None:  # for `_inline`
        complete.object_plan, complete.non_null = object_plan, True  # type: ignore[attr-defined]
    return complete


def _nullable(inner: Plan) -> Plan:
    """An object's plan, for a value that may be null."""
    def complete(value: Any) -> Any:
        return None if value is None else inner(value)

    complete.object_plan = inner  # type: ignore[attr-defined]  # for `_inline`
    return complete


def _list_of(inner: Plan) -> Plan:
    def complete(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
            raise _Unplanned
        return [inner(item) for item in value]

    return complete


#: scalars whose Python value is already the output when of this exact type (Int is checked for range)
_NATIVE: dict[GraphQLScalarType | GraphQLEnumType, type] = {GraphQLString: str, GraphQLInt: int, GraphQLBoolean: bool,
                                                          GraphQLID: str}
_INT_RANGE = range(-(2 ** 31), 2 ** 31)


def _leaf(leaf_type: GraphQLScalarType | GraphQLEnumType, *, non_null: bool = False) -> Plan:
    native = _NATIVE.get(leaf_type)
    coerce = leaf_type.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _Unplanned
            return None
        if native is not None and type(value) is native and (native is not int or value in _INT_RANGE):
            return value
        coerced = coerce(value)
        if coerced is Undefined or coerced is None:
            raise _Unplanned
        return coerced

    # for `_inline`: the exact type whose values are their own output, or an enum's names by member
    complete.native = native  # type: ignore[attr-defined]
    complete.enum_names = _enum_names(leaf_type) if isinstance(leaf_type, GraphQLEnumType) else None  # type: ignore[attr-defined]
    return complete


def _enum_names(enum_type: GraphQLEnumType) -> dict[Any, str] | None:
    """{value: its GraphQL name}, as the type's own completion gives it, for its values and, for a
    Strawberry enum, its Python members; None when some value is not hashable, or when two equal
    values complete differently (then the plan takes no shortcut for this enum)."""
    names: dict[Any, str] = {}
    members = list(getattr(enum_type, "wrapped_cls", ()))
    try:
        for value in [*(definition.value for definition in enum_type.values.values()), *members]:
            name = enum_type.coerce_output_value(value)
            if not isinstance(name, str) or names.setdefault(value, name) != name:
                return None
    except Exception:
        return None
    return names
