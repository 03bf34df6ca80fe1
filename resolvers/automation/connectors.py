"""Admin entry points of the connector registry."""
from __future__ import annotations

from strawberry.types import Info

from resolvers.errors import payload_of, unauthenticated_on_top, viewer_of
from schema.automation.connectors import Connector, ConnectorPayload, CreateConnectorInput, RotateConnectorSecretInput
from schema.ids import decode_id
from services.automation import connectors


async def _with_secret(call) -> ConnectorPayload:
    return await payload_of(
        call,
        lambda connector: ConnectorPayload(connector=Connector.from_model(connector), secret=connector.secret,
                                           user_errors=[]),
        lambda errors: ConnectorPayload(connector=None, secret=None, user_errors=errors),
    )


async def create_connector(info: Info, input: CreateConnectorInput) -> ConnectorPayload:
    async def run():
        return await connectors.create_connector(
            viewer_of(info), name=input.name, kind=input.kind.value,
            open_channel_id=decode_id(input.open_channel_id, "OpenChannel", ["input", "openChannelId"]),
            callback_url=input.callback_url, bot_token=input.telegram_bot_token, api_url=input.telegram_api_url)

    return await _with_secret(run())


async def rotate_connector_secret(info: Info, input: RotateConnectorSecretInput) -> ConnectorPayload:
    async def run():
        return await connectors.rotate_secret(
            viewer_of(info), connector_id=decode_id(input.connector_id, "Connector", ["input", "connectorId"]))

    return await _with_secret(run())


async def connectors_list(info: Info) -> list[Connector]:
    return [Connector.from_model(c) for c in await unauthenticated_on_top(connectors.list_connectors(viewer_of(info)))]
