"""Channel connectors in the API (admin only): the registry and its secrets."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

import models
from schema.common import UserError
from resolvers.ids import to_global_id


@strawberry.enum(description="Which messenger a connector speaks to.")
class ConnectorKind(Enum):
    WEBHOOK = "WEBHOOK"
    TELEGRAM = "TELEGRAM"


@strawberry.type(description="A channel connector: an outside messenger feeding an open channel.")
class Connector:
    id: strawberry.ID
    name: str
    kind: ConnectorKind
    open_channel_id: strawberry.ID
    callback_url: str | None = strawberry.field(description="Where a webhook connector delivers replies.")
    events_path: str = strawberry.field(description="Where the messenger posts its events on this server.")
    created_at: datetime

    @strawberry.field(description="`eventsPath` as an absolute URL, to give the messenger.")
    def events_url(self, info: Info) -> str:
        return info.context.absolute_url(self.events_path)

    @classmethod
    def from_model(cls, connector: models.Connector) -> "Connector":
        return cls(id=strawberry.ID(to_global_id("Connector", connector.id)), name=connector.name,
                   kind=ConnectorKind(connector.kind),
                   open_channel_id=strawberry.ID(to_global_id("OpenChannel", connector.open_channel_id)),
                   callback_url=connector.callback_url, events_path=f"/connectors/{connector.id}/events",
                   created_at=connector.created_at)


@strawberry.input
class CreateConnectorInput:
    name: str
    kind: ConnectorKind
    open_channel_id: strawberry.ID
    callback_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_api_url: str | None = strawberry.field(
        default=None, description="The Bot API base URL; default https://api.telegram.org.")


@strawberry.input
class RotateConnectorSecretInput:
    connector_id: strawberry.ID


@strawberry.type
class ConnectorPayload:
    connector: Connector | None
    secret: str | None = strawberry.field(
        description="The signing secret (Telegram: the webhook secret token); shown only here, once.")
    user_errors: list[UserError]
