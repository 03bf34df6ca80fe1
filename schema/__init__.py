"""The GraphQL schema: types, inputs and enums by domain; the root types in schema/root.py."""
from __future__ import annotations

import strawberry
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types.graphql import OperationType

from schema.chats.chat import Chat, ChatConnection
from schema.chats.client import Client
from schema.error_policy import ErrorPolicy
from schema.input_values import build_inputs_in_one_step
from schema.limits import QueryLimits, query_limits
from schema.chats.message import Message
from schema.chats.open_channel import OpenChannel
from schema.operation_metrics import OperationMetrics
from schema.chats.operator import Operator
from schema.validation_cache import cached_validation
from schema.parse_cache import CachedParsing
from schema.plain_execution import PlainFieldExecutionContext
from schema.production import HiddenSuggestionsMixin, ProductionValidation
from schema.root import Mutation, Query, Subscription


class _Schema(strawberry.Schema):
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


def build_schema(limits: QueryLimits = QueryLimits(), production: bool = False, tracing: tuple = ()) -> _Schema:
    """The schema with its query limits; `production` adds schema/production.py's rules; `tracing`:
    extensions that trace operations (openchannels/tracing.py)."""
    # the cached validation before the limits: they add their errors to its result (the limits
    # set the parse options in on_operation, before any parse)
    # OperationMetrics first: it ends last and sees the errors ErrorPolicy gave their codes
    extensions = [OperationMetrics, *tracing, CachedParsing, cached_validation(hide_suggestions=production),
                  query_limits(limits), *([ProductionValidation] if production else []), ErrorPolicy]
    built = (_ProductionSchema if production else _Schema)(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Chat, ChatConnection, Client, Message, OpenChannel, Operator],
        extensions=extensions,
        execution_context_class=PlainFieldExecutionContext,
    )
    build_inputs_in_one_step(built)
    return built


#: the schema with the default limits, in development mode (`export-schema` prints it)
schema = build_schema()


def schema_for(settings, tracing: tuple = ()) -> _Schema:
    """The schema the server runs with `settings` (OPENCHANNELS_ENV, QUERY_MAX_*): the same SDL."""
    if settings.env not in ("development", "production"):
        raise ValueError(f"OPENCHANNELS_ENV must be development or production, not {settings.env!r}")
    limits, production = QueryLimits.from_settings(settings), settings.env == "production"
    if limits == QueryLimits() and not production and not tracing:
        return schema
    return build_schema(limits, production, tracing)


__all__ = ["build_schema", "schema", "schema_for"]
