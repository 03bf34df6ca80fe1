"""Every private part of Strawberry, graphql-core and Tortoise the application uses, listed; each of
these packages pinned exactly in pyproject.toml, checked against what is installed; and which of
the uses PLAIN_EXECUTION=off turns off (the fast paths) and why the others stay.

The list is checked against the code: an attribute or method whose name starts with one underscore
and which the library defines (a private name of ours that a library happens to define too is in
OURS), read, called, overridden or imported anywhere in the application packages. Internals without
an underscore (a method of graphql-core's executor, non-public modules of Strawberry) cannot be
found that way: they are listed in NAMED_INTERNALS, and each must still be in its file.
"""
from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("models", "services", "resolvers", "schema", "openchannels")
LIBRARIES = {"strawberry": "strawberry-graphql", "graphql": "graphql-core", "tortoise": "tortoise-orm"}

#: the installed versions the private uses below were written and tested against
PINS = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2", "tortoise-orm": "1.1.9"}

OFF = "PLAIN_EXECUTION=off: not used"

#: (file, private name) -> (package, what PLAIN_EXECUTION=off does about it, or why it stays)
PRIVATE_USES = {
    ("schema/validation_cache.py", "_schema"): ("strawberry-graphql", OFF + " (Strawberry's ValidationCache instead)"),
    ("resolvers/prefetch.py", "_raw_info"): ("strawberry-graphql", OFF + " (selected_at reads info.selected_fields)"),
    ("schema/error_policy.py", "_process_result"): ("strawberry-graphql", OFF + " (FastErrorPolicy: ErrorPolicy instead)"),
    ("openchannels/websocket_handlers.py", "_handle_pre_execution_error"): (
        "strawberry-graphql", OFF + " (only for shared subscriptions, which are off)"),
    ("openchannels/websocket_handlers.py", "_reject_incremental_delivery"): (
        "strawberry-graphql", OFF + " (only for shared subscriptions, which are off)"),
    ("openchannels/websocket_handlers.py", "_OperationStreamClosed"): (
        "strawberry-graphql", OFF + " (only for shared subscriptions, which are off)"),
    ("schema/production.py", "_get_custom_context_kwargs"): (
        "strawberry-graphql", "stays: production's variable errors without suggestions; Strawberry has no public "
        "way to pass graphql-core's hide_suggestions to execution"),
    ("schema/__init__.py", "_schema"): (
        "strawberry-graphql", OFF + " (no prepared operations: schema/prepared_operations.py runs on the graphql-core "
        "schema Strawberry built)"),
    ("schema/direct_field.py", "_OperationContextAwareGraphQLResolveInfo"): (
        "strawberry-graphql", OFF + " (no prepared operations: graphql-core's executor builds each resolver's info, "
        "with Strawberry's build_resolve_info)"),
    ("schema/limits.py", "_schema"): (
        "strawberry-graphql", "stays: the graphql-core schema the limits measure against (Strawberry's own "
        "ValidationCache reads it the same way; there is no public accessor)"),
    ("openchannels/operation_manifest.py", "_schema"): (
        "strawberry-graphql", "stays: registered documents validated and measured against the graphql-core schema"),
    ("services/common/read_models.py", "_meta"): ("tortoise-orm", "stays: column types of the models (services/, not the engine)"),
    ("services/contact_center/conversations.py", "_meta"): ("tortoise-orm", "stays: a field's to_db_value (services/)"),
    ("services/events/events.py", "_meta"): ("tortoise-orm", "stays: a JSON field's encoder (services/)"),
    ("services/policies/chats.py", "_meta"): ("tortoise-orm", "stays: a relation's table name in the rendered SQL (services/)"),
    ("services/policies/conditions.py", "_meta"): ("tortoise-orm", "stays: a model's table name in the rendered SQL (services/)"),
    ("services/common/model_rows.py", "_meta"): (
        "tortoise-orm", "MODEL_ROWS=off: not used (the field groups a model's constructor is generated from; the "
        "constructor also writes by name the attributes _init_from_db sets on an instance: _partial, _saved_in_db, "
        "_custom_generated_pk, _await_when_save)"),
    ("services/common/model_rows.py", "_init_from_db"): (
        "tortoise-orm", "stays: MODEL_ROWS=off builds models with it; tests/engine/test_model_rows.py compares "
        "the generated constructors with it"),
    ("services/contact_center/search_index.py", "_in_transaction"): ("tortoise-orm", "stays: a savepoint on a given connection (services/)"),
    ("services/common/unique_rows.py", "_in_transaction"): ("tortoise-orm", "stays: a savepoint on a given connection (services/)"),
    ("services/common/transactions.py", "_pool"): (
        "tortoise-orm", "DIRECT_TRANSACTIONS=off: not used (Tortoise's in_transaction takes the connection)"),
    ("services/common/transactions.py", "_connection"): (
        "tortoise-orm", "DIRECT_TRANSACTIONS=off: not used (the connection of a DirectTransaction)"),
    ("services/common/transactions.py", "_in_transaction"): (
        "tortoise-orm", "DIRECT_TRANSACTIONS=off: not used (a DirectTransaction's savepoints)"),
    ("services/common/transactions.py", "_lock"): (
        "tortoise-orm", "DIRECT_TRANSACTIONS=off: not used (raw_sql's statements on a DirectTransaction take its lock)"),
    ("services/common/transactions.py", "_translate_exceptions"): (
        "tortoise-orm", "DIRECT_TRANSACTIONS=off: not used (raw_sql's statements on a DirectTransaction: "
        "asyncpg's errors translated as Tortoise does)"),
}

#: internals whose names have no underscore: (file, text that must be in it) -> (package, what off does)
NAMED_INTERNALS = {
    ("schema/plain_execution.py", "def collect_and_execute_subfields("): (
        "graphql-core", OFF + " (graphql-core's own execution context: no execution_context_class)"),
    ("schema/plain_execution.py", "self.async_helpers = _helpers_of(self)"): (
        "graphql-core", OFF + " (graphql-core's own helpers: its executor's bound methods, one reference cycle "
        "per request)"),
    ("schema/plain_execution.py", "from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext"): (
        "strawberry-graphql", OFF),
    ("schema/prepared_operations.py", "from strawberry.execution import optimized_is_awaitable"): (
        "strawberry-graphql", OFF + " (no prepared operations: Strawberry's Schema.execute passes the same check)"),
    ("schema/direct_field.py", "from graphql.execution.collect_fields import FieldDetails"): (
        "graphql-core", OFF + " (no prepared operations: no direct runs of one root field)"),
    ("schema/direct_field.py", "from graphql.execution.get_variable_signature import GraphQLVariableSignature"): (
        "graphql-core", OFF + " (as above: graphql-core coerces the variables)"),
    ("schema/direct_field.py", "from graphql.execution.values import VariableValues, VariableValueSource"): (
        "graphql-core", OFF + " (as above)"),
    ("schema/plain_execution.py", "def plan_root_field("): (
        "graphql-core", OFF + " (the executor's collect_subfields, for a direct run's plan)"),
    ("schema/validation_cache.py", "from strawberry.schema.schema import validate_document"): (
        "strawberry-graphql", OFF + " (Strawberry's ValidationCache instead)"),
    ("schema/input_values.py", "from strawberry.schema.compat import is_scalar"): (
        "strawberry-graphql", OFF + " (inputs converted by Strawberry: no from_input plans)"),
    ("schema/input_values.py", "from strawberry.types.arguments import InputContext"): ("strawberry-graphql", OFF),
    ("schema/extension_hooks.py", "from strawberry.extensions.context import ("): (
        "strawberry-graphql", OFF + " (Strawberry's own SchemaExtensionsRunner: no create_extensions_runner override)"),
    ("schema/extension_hooks.py", "from strawberry.extensions.runner import SchemaExtensionsRunner"): (
        "strawberry-graphql", OFF),
    ("schema/extension_hooks.py", "def get_hook(self, extension: SchemaExtension)"): ("strawberry-graphql", OFF),
    ("schema/input_values.py", "schema.schema_converter.type_map"): ("strawberry-graphql", OFF),
    ("openchannels/operation_manifest.py", "from strawberry.schema.validation_rules.one_of import"): (
        "strawberry-graphql", "stays: `operations register` validates with Strawberry's two rules, hard-coded"),
    ("openchannels/operation_manifest.py", "from strawberry.schema.validation_rules.maybe_null import"): (
        "strawberry-graphql", "stays: as above"),
    ("openchannels/websocket_handlers.py", "def on_request_accepted(self) -> None:"): (
        "strawberry-graphql", "stays: graphql-transport-ws's connection_init timeout as a timer of the event loop, not "
        "Strawberry's task per connection (its cancelled task kept an error, two tracebacks and two frames for the "
        "connection's life); its handler checks connection_init_timeout_task before it cancels or awaits it"),
    ("services/common/transactions.py", "from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper"): (
        "tortoise-orm", "DIRECT_TRANSACTIONS=off: not used (DirectTransaction subclasses Tortoise's asyncpg "
        "transaction client: its query methods and exception translation)"),
}

#: our own private names, or the standard library's, that a library happens to define too (not uses of the
#: library): `_value_` is Enum's own attribute of a member (its value, without the `value` property's call)
OURS = {
    ("services/events/events.py", "_value_"), ("services/events/records.py", "_value_"),
    ("infrastructure/broker.py", "_next_id"), ("infrastructure/lru.py", "_entries"), ("infrastructure/metrics.py", "_limit"),
    ("infrastructure/redis_publisher.py", "_client"), ("infrastructure/redis_publisher.py", "_connection"),
    ("infrastructure/redis_publisher.py", "_settle"), ("openchannels/shared_subscriptions.py", "_key"),
    ("openchannels/shared_subscriptions.py", "_run"), ("openchannels/shared_subscriptions.py", "_stream"),
    ("openchannels/websocket_admission.py", "_check"), ("openchannels/websocket_admission.py", "_close"),
    ("openchannels/websocket_admission.py", "_loop"), ("resolvers/chats/mutations.py", "_or"),
    ("schema/error_policy.py", "_validation_errors"), ("schema/limits.py", "_field"),
    ("schema/limits.py", "_fragments"), ("services/identity/auth.py", "_entries"), ("services/chats/chats.py", "_close"),
    ("services/chats/open_channels.py", "_validate"), ("services/common/raw_sql.py", "_dialect"), ("services/contact_center/search.py", "_dialect"),
    ("services/contact_center/statistics.py", "_query"), ("services/contact_center/statistics.py", "_rows"),
    ("services/contact_center/wallboard.py", "_now"),
}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _library_private_names() -> set[str]:
    names: set[str] = set()
    for library in LIBRARIES:
        package = Path(__import__(library).__file__).parent
        for path in package.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    names.add(node.attr)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return {name for name in names if _private(name)}


def _private_uses_in_the_code() -> set[tuple[str, str]]:
    libraries = _library_private_names()
    found: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in LIBRARIES:
                    found |= {(where, alias.name) for alias in node.names if _private(alias.name)}
                    continue
                name = node.attr if isinstance(node, ast.Attribute) else (
                    node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None)
                if name and _private(name) and name in libraries:
                    found.add((where, name))
    return found


def test_every_private_use_is_listed():
    found = _private_uses_in_the_code() - OURS
    unlisted = sorted(found - PRIVATE_USES.keys())
    gone = sorted(PRIVATE_USES.keys() - found)
    assert not unlisted, f"private parts of Strawberry, graphql-core or Tortoise used but not listed here: {unlisted}"
    assert not gone, f"listed here but no longer used (remove them from the list): {gone}"


def test_every_named_internal_is_still_where_the_list_says():
    missing = [key for key in NAMED_INTERNALS if key[1] not in (ROOT / key[0]).read_text(encoding="utf-8")]
    assert not missing, f"no longer in the code (update the list): {missing}"


def _pinned(package: str) -> str | None:
    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        match = re.fullmatch(rf"{re.escape(package)}(\[[^\]]*\])?==([^\s;,]+)", requirement.strip())
        if match:
            return match.group(2)
    return None


@pytest.mark.parametrize("package", sorted(PINS))
def test_each_package_whose_internals_are_used_is_pinned_to_what_is_installed(package):
    users = sorted({where for (where, _), (owner, _) in {**PRIVATE_USES, **NAMED_INTERNALS}.items() if owner == package})
    installed = importlib.metadata.version(package)
    assert _pinned(package) == PINS[package], (
        f"pyproject.toml must pin {package}=={PINS[package]} exactly: {', '.join(users)} use its private parts")
    assert installed == PINS[package], (
        f"{package} {installed} is installed, but {', '.join(users)} were written and tested against "
        f"{PINS[package]} (its private parts: tests/engine/test_private_parts.py). Check each use against "
        f"the new version, then move the pin here and in pyproject.toml together")


def test_only_the_pinned_packages_are_used_privately():
    owners = {owner for owner, _ in (*PRIVATE_USES.values(), *NAMED_INTERNALS.values())}
    assert owners <= PINS.keys()
