"""Entry points of queue automation: the visitor's rating and the connector registry (admin).
Timers need none: the scheduler runs in every server process."""
from __future__ import annotations

import strawberry

from resolvers.automation import connectors as c
from resolvers.automation import rating as r
from schema.automation.connectors import Connector, ConnectorPayload
from schema.payloads import ChatPayload


@strawberry.type
class AutomationQuery:
    connectors: list[Connector] = strawberry.field(resolver=c.connectors_list,
                                                    description="Every channel connector (ADMIN).")


@strawberry.type
class AutomationMutation:
    rate_chat: ChatPayload = strawberry.mutation(
        resolver=r.rate_chat,
        description="The visitor rates their finished chat, once: LIKE or DISLIKE with an optional comment.",
    )
    create_connector: ConnectorPayload = strawberry.mutation(
        resolver=c.create_connector, description="Connect an outside messenger to an open channel (ADMIN).")
    rotate_connector_secret: ConnectorPayload = strawberry.mutation(
        resolver=c.rotate_connector_secret,
        description="A new secret for a connector: the old one stops working at once (ADMIN).")
