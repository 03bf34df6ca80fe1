"""Admin entry points of the connector registry."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.types import Info

import models
from resolvers.errors import Outcome, outcome, unauthenticated_on_top, viewer_of
from resolvers.ids import decode_id
from services.automation import connectors

if TYPE_CHECKING:
    from schema.automation.connectors import CreateConnectorInput, RotateConnectorSecretInput


async def create_connector(info: Info, input: CreateConnectorInput) -> Outcome[Any]:
    """The connector, with its `secret` (shown only in this payload)."""
    async def run():
        return await connectors.create_connector(
            viewer_of(info), name=input.name, kind=input.kind.value,
            open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            callback_url=input.callback_url, bot_token=input.telegram_bot_token, api_url=input.telegram_api_url)

    return await outcome(run())


async def rotate_connector_secret(info: Info, input: RotateConnectorSecretInput) -> Outcome[Any]:
    async def run():
        return await connectors.rotate_secret(
            viewer_of(info), connector_id=decode_id(input.connector_id, "Connector", ["input", "connectorId"]))

    return await outcome(run())


async def connectors_list(info: Info) -> list[models.Connector]:
    return await unauthenticated_on_top(connectors.list_connectors(viewer_of(info)))
