"""The GraphQL schema: types, inputs and enums by domain; the root types in schema/root.py."""
from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types.graphql import OperationType

from schema.chats.chat import Chat, ChatConnection
from schema.chats.client import Client
from schema.error_policy import ErrorPolicy, FastErrorPolicy
from schema.event_cursor import EventCursor
from schema.extension_hooks import CachedHooksRunner
from schema.input_values import build_inputs_in_one_step
from schema.limits import QueryLimits, query_limits
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.operation_metrics import OperationMetrics
from schema.chats.operator import Operator
from schema.plain_execution import PlainFieldExecutionContext
from schema.prepared_operations import PreparedOperations, remember_prepared
from schema.production import HiddenSuggestionsMixin, ProductionValidation
from schema.root import Mutation, Query, Subscription
from schema.validation_cache import text_keyed_validation
from infrastructure.settings import plain_execution_enabled

#: distinct documents whose parse and validation are remembered (Strawberry's LRU caches, shared
#: by every request: strangers' documents evict, they cannot grow memory)
DOCUMENT_CACHE_SIZE = 512


class _ParserCache(ParserCache):
    """Strawberry's parser cache, except for a text that does not parse: left to Strawberry's own
    parse, which reports it inside the parsing step, where the other extensions see it (the limits
    give graphql-core's `max_tokens` error its code there)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except GraphQLError:
            pass
        yield


class _Schema(strawberry.Schema):
    #: PLAIN_EXECUTION: whether the fast paths on private parts of Strawberry and graphql-core run
    #: (schema/plain_execution.py, schema/input_values.py, resolvers/prefetch.py, the shared
    #: subscriptions of openchannels/websocket_handlers.py; tests/engine lists them)
    plain_execution = True
    #: the operations that may run straight through graphql-core (schema/prepared_operations.py);
    #: None: every operation takes Strawberry's steps (PLAIN_EXECUTION=off, or tracing)
    prepared: PreparedOperations | None = None

    def get_extensions(self, sync: bool = False) -> list:
        """The extensions of one operation; an asynchronous one also reads its `eventCursor`
        before it runs (schema/event_cursor.py), last, right before execution."""
        extensions = super().get_extensions(sync)
        return extensions if sync else [*extensions, EventCursor()]

    def create_extensions_runner(self, execution_context, extensions):
        """PLAIN_EXECUTION: the hooks of each extension class found once, not on every request
        (schema/extension_hooks.py)."""
        if self.plain_execution:
            return CachedHooksRunner(execution_context=execution_context, extensions=extensions)
        return super().create_extensions_runner(execution_context, extensions)

    def process_errors(self, errors, execution_context=None) -> None:
        """ErrorPolicy logs what is unexpected; expected errors are not noise in the log."""

    async def execute(self, *args, allowed_operation_types=None, **kwargs):
        """One result: a subscription cannot be executed, only subscribed to (`stream`, the
        WebSockets). Strawberry lets HTTP ask for one, which then failed inside as a bug; refused
        here, it is InvalidOperationTypeError, a BAD_REQUEST (openchannels/http_compliance.py)."""
        kwargs["allowed_operation_types"] = \
            set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES) - {OperationType.SUBSCRIPTION}
        return await super().execute(*args, **kwargs)


class _ProductionSchema(HiddenSuggestionsMixin, _Schema):
    pass


def build_schema(limits: QueryLimits = QueryLimits(), production: bool = False, tracing: tuple = (),
                 plain_execution: bool = True) -> _Schema:
    """The schema with its query limits; `production` adds schema/production.py's rules; `tracing`:
    extensions that trace operations (openchannels/tracing.py); `plain_execution` False: Strawberry's
    and graphql-core's public APIs only (PLAIN_EXECUTION=off)."""
    # the validation cache (ours, keyed on the text, or Strawberry's: schema/validation_cache.py)
    # before the limits: they add their errors to its result (the limits set the parse options in
    # on_operation, before any parse)
    # OperationMetrics first: it ends last and sees the errors ErrorPolicy gave their codes
    # prepared operations skip every extension: not with tracing, whose extensions must see each one
    prepared = PreparedOperations(PlainFieldExecutionContext, hide_suggestions=production) \
        if plain_execution and not tracing else None
    extensions = [OperationMetrics, *tracing, lambda: _ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
                  text_keyed_validation(DOCUMENT_CACHE_SIZE) if plain_execution
                  else lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
                  query_limits(limits),
                  *([ProductionValidation] if production else []),
                  FastErrorPolicy if plain_execution else ErrorPolicy,
                  *([remember_prepared(prepared)] if prepared is not None else [])]
    built = (_ProductionSchema if production else _Schema)(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Chat, ChatConnection, Client, Message, OpenChannel, Operator],
        extensions=extensions,
        execution_context_class=PlainFieldExecutionContext if plain_execution else None,
    )
    built.plain_execution = plain_execution
    if prepared is not None:
        prepared.schema = built._schema
        built.prepared = prepared
    if plain_execution:
        build_inputs_in_one_step(built)
    return built


#: the schema with the default limits, in development mode (`export-schema` prints it), with
#: PLAIN_EXECUTION as the environment sets it
schema = build_schema(plain_execution=plain_execution_enabled())


def schema_for(settings, tracing: tuple = ()) -> _Schema:
    """The schema the server runs with `settings` (OPENCHANNELS_ENV, QUERY_MAX_*): the same SDL."""
    if settings.env not in ("development", "production"):
        raise ValueError(f"OPENCHANNELS_ENV must be development or production, not {settings.env!r}")
    limits, production = QueryLimits.from_settings(settings), settings.env == "production"
    if limits == QueryLimits() and not production and not tracing and settings.plain_execution == schema.plain_execution:
        return schema
    return build_schema(limits, production, tracing, settings.plain_execution)


__all__ = ["build_schema", "schema", "schema_for"]
