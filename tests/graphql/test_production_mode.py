"""Production mode (OPENCHANNELS_ENV=production) through the schema the server builds for it.

Over real HTTP (GraphiQL off, introspection refused) in tests/compliance/test_graphql_over_http.py.
"""
from __future__ import annotations

import logging

import pytest

from infrastructure.settings import Settings
from resolvers.context import Context
from schema import schema, schema_for
from schema.limits import QueryLimits
from services.identity.viewer import Viewer

PRODUCTION = Settings(env="production")


class BrokenContext(Context):
    """A context whose caller cannot be read: an unexpected failure inside a resolver."""

    @property
    def viewer(self) -> Viewer:
        raise RuntimeError("connection to db-secret.internal:5432 refused")


def test_the_export_and_the_development_server_use_the_same_schema_object():
    assert schema_for(Settings(env="development")) is schema
    production = schema_for(PRODUCTION)
    assert production is not schema
    assert production.as_str() == schema.as_str()


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="OPENCHANNELS_ENV"):
        schema_for(Settings(env="staging"))


def test_limits_come_from_the_settings():
    custom = schema_for(Settings(query_max_depth=2))
    assert custom is not schema
    result = custom.execute_sync("{ me { operator { name } } }", context_value=Context())
    assert result.errors[0].extensions["limit"] == "depth" and result.errors[0].extensions["maximum"] == 2
    assert QueryLimits.from_settings(Settings()) == QueryLimits()


async def test_introspection_is_refused_in_production_only():
    query = "{ __schema { queryType { name } } }"
    production = await schema_for(PRODUCTION).execute(query, context_value=Context())
    assert production.data is None
    assert {e.extensions["code"] for e in production.errors} == {"INTROSPECTION_DISABLED"}
    development = await schema.execute(query, context_value=Context())
    assert development.data == {"__schema": {"queryType": {"name": "Query"}}}
    typename = await schema_for(PRODUCTION).execute("{ __typename }", context_value=Context())
    assert typename.data == {"__typename": "Query"}


@pytest.mark.parametrize("query, variables, suggested", [
    ("{ conversationz { totalCount } }", {}, "'conversations'"),                       # unknown field
    ("{ conversations(frist: 1) { totalCount } }", {}, "'first'"),                     # unknown argument
    ("query($o: ConversationOrdr) { conversations(orderBy: $o) { totalCount } }", {}, "'ConversationOrder'"),
    ("query($o: ConversationOrder) { conversations(orderBy: $o) { totalCount } }", {"o": "NEWST"}, "'NEWEST'"),
])
async def test_production_errors_do_not_suggest_names(query, variables, suggested):
    development = await schema.execute(query, variable_values=variables, context_value=Context())
    assert "Did you mean" in development.errors[0].message and suggested in development.errors[0].message

    production = await schema_for(PRODUCTION).execute(query, variable_values=variables, context_value=Context())
    assert production.data is None and production.errors
    for error in production.errors:
        assert "Did you mean" not in error.message and suggested not in error.message


async def test_an_unexpected_failure_is_masked_with_a_request_id_in_production(caplog):
    with caplog.at_level(logging.ERROR, logger="openchannels.errors"):
        result = await schema_for(PRODUCTION).execute("{ me { unreadCount } }", context_value=BrokenContext())

    error = result.errors[0]
    request_id = error.extensions["requestId"]
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert error.message == f"Internal server error (request id {request_id})."
    assert "db-secret" not in str(result.errors)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert request_id in logged and "db-secret.internal" in caplog.text
