"""The GraphQL mapping of the widget's channel settings: `OpenChannel.contactFields` set by admins on
createOpenChannel/updateOpenChannel, the public `widgetSettings(openChannelId:)` (no token, one
statement, null for an unknown channel) and startVisitorChat refusing a REQUIRED channel's start
without a name and an e-mail."""
from __future__ import annotations

from models import Client, VisitorSession
from resolvers.ids import to_global_id
from services.identity.viewer import ANONYMOUS
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute, execute_raw

CREATE = """
mutation ($input: CreateOpenChannelInput!) {
  createOpenChannel(input: $input) { openChannel { id contactFields } userErrors { code field } }
}"""
UPDATE = """
mutation ($input: UpdateOpenChannelInput!) {
  updateOpenChannel(input: $input) { openChannel { id contactFields language } userErrors { code field } }
}"""
SETTINGS = """
query ($id: ID!) {
  widgetSettings(openChannelId: $id) { openChannelId name language ratingEnabled isOpenNow contactFields }
}"""
START = """
mutation ($input: StartVisitorChatInput!) {
  startVisitorChat(input: $input) { visitorToken chat { id } userErrors { code field message } }
}"""


async def test_an_admin_creates_and_updates_a_channels_contact_fields(db):
    _, admin = await make_admin()
    created = (await execute(CREATE, admin, input={"name": "Ventas"}))["createOpenChannel"]
    assert created["openChannel"]["contactFields"] == "OPTIONAL"
    required = (await execute(CREATE, admin, input={"name": "Soporte", "contactFields": "REQUIRED"}))
    assert required["createOpenChannel"]["openChannel"]["contactFields"] == "REQUIRED"

    gid = created["openChannel"]["id"]
    updated = (await execute(UPDATE, admin, input={"openChannelId": gid, "contactFields": "NONE"}))
    assert updated["updateOpenChannel"] == {"openChannel": {"id": gid, "contactFields": "NONE", "language": "en"},
                                            "userErrors": []}
    untouched = (await execute(UPDATE, admin, input={"openChannelId": gid, "language": "es"}))
    assert untouched["updateOpenChannel"]["openChannel"]["contactFields"] == "NONE"  # not given: not changed
    refused = (await execute(UPDATE, admin, input={"openChannelId": gid, "contactFields": None}))
    assert refused["updateOpenChannel"]["userErrors"] == [{"code": "INVALID_INPUT",
                                                           "field": ["input", "contact_fields"]}]
    _, operator = await make_operator()
    forbidden = (await execute(UPDATE, operator, input={"openChannelId": gid, "contactFields": "REQUIRED"}))
    assert forbidden["updateOpenChannel"]["userErrors"] == [{"code": "FORBIDDEN", "field": None}]


async def test_without_a_token_widget_settings_tell_what_the_widget_shows_in_one_statement(db, count_queries):
    _, admin = await make_admin()
    channel = await make_open_channel(admin=admin, name="Soporte")
    gid = to_global_id("OpenChannel", channel.id)
    await execute(UPDATE, admin, input={"openChannelId": gid, "language": "es", "contactFields": "REQUIRED"})

    with count_queries() as counter:
        data = await execute(SETTINGS, ANONYMOUS, id=gid)
    assert data["widgetSettings"] == {"openChannelId": gid, "name": "Soporte", "language": "es",
                                      "ratingEnabled": True, "isOpenNow": True, "contactFields": "REQUIRED"}
    assert counter.count == 1, counter.statements


async def test_an_unknown_channel_is_null_and_an_id_of_another_type_an_error(db):
    _, admin = await make_admin()
    channel = await make_open_channel(admin=admin)
    assert (await execute(SETTINGS, ANONYMOUS, id=to_global_id("OpenChannel", channel.id + 1000))) == {
        "widgetSettings": None}
    wrong = await execute_raw(SETTINGS, ANONYMOUS, id=to_global_id("Chat", channel.id))
    assert wrong.data == {"widgetSettings": None}
    assert [e.extensions["code"] for e in wrong.errors or []] == ["INVALID_INPUT"]


async def test_visitors_and_operators_read_them_too(db):
    operator, operator_viewer = await make_operator()
    channel = await make_open_channel([operator], name="Help")
    other = await make_open_channel(name="Elsewhere")  # not the visitor's, not the operator's queue
    _, visitor, _ = await start_chat(channel)
    for viewer in (visitor, operator_viewer):
        data = await execute(SETTINGS, viewer, id=to_global_id("OpenChannel", other.id))
        assert data["widgetSettings"]["name"] == "Elsewhere"


async def test_start_visitor_chat_on_a_required_channel_wants_a_name_and_an_email(db):
    _, admin = await make_admin()
    channel = await make_open_channel(admin=admin)
    gid = to_global_id("OpenChannel", channel.id)
    await execute(UPDATE, admin, input={"openChannelId": gid, "contactFields": "REQUIRED"})

    refused = (await execute(START, ANONYMOUS, input={"openChannelId": gid, "text": "Hi", "name": "Lucy"}))
    assert refused["startVisitorChat"]["visitorToken"] is None and refused["startVisitorChat"]["chat"] is None
    [error] = refused["startVisitorChat"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "email"])
    assert (await Client.all().count(), await VisitorSession.all().count()) == (0, 0)

    started = (await execute(START, ANONYMOUS, input={"openChannelId": gid, "text": "Hi", "name": "Lucy",
                                                      "email": "lucy@example.com"}))["startVisitorChat"]
    assert started["userErrors"] == [] and started["visitorToken"] and started["chat"]
