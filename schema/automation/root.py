"""Entry points of queue automation: the visitor's rating and the connector registry (admin).
Timers need none: the scheduler runs in every server process.

Each root field calls its resolver (resolvers/automation/) and builds the GraphQL types from what
it returns."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.automation import connectors as c
from resolvers.automation import rating as r
from schema.automation.connectors import Connector, ConnectorPayload, CreateConnectorInput, RotateConnectorSecretInput
from schema.automation.rating import RateChatInput
from schema.payloads import ChatPayload, chat_payload, user_errors


def _with_secret(done) -> ConnectorPayload:
    """The connector and its secret (shown only here, once), or the userErrors."""
    if done.error is not None:
        return ConnectorPayload(connector=None, secret=None, user_errors=user_errors(done))
    return ConnectorPayload(connector=Connector.from_model(done.result), secret=done.result.secret, user_errors=[])


@strawberry.type
class AutomationQuery:
    @strawberry.field(description="Every channel connector (ADMIN).")
    async def connectors(self, info: Info) -> list[Connector]:
        return [Connector.from_model(found) for found in await c.connectors_list(info)]


@strawberry.type
class AutomationMutation:
    @strawberry.mutation(
        description="The visitor rates their finished chat, once: LIKE or DISLIKE with an optional comment.")
    async def rate_chat(self, info: Info, input: RateChatInput) -> ChatPayload:
        return chat_payload(await r.rate_chat(info, input))

    @strawberry.mutation(description="Connect an outside messenger to an open channel (ADMIN).")
    async def create_connector(self, info: Info, input: CreateConnectorInput) -> ConnectorPayload:
        return _with_secret(await c.create_connector(info, input))

    @strawberry.mutation(description="A new secret for a connector: the old one stops working at once (ADMIN).")
    async def rotate_connector_secret(self, info: Info, input: RotateConnectorSecretInput) -> ConnectorPayload:
        return _with_secret(await c.rotate_connector_secret(info, input))
