"""The GraphQL mapping of issue #19's no-answer rule and waiting figures: the rule's settings on
updateOpenChannel and OpenChannel (bad ones are INVALID_INPUT userErrors naming the field, changing
nothing); Chat.queuePosition and estimatedWaitSeconds for the visitor (visitorChat) and operators."""
from __future__ import annotations

from datetime import timedelta

from models import Chat, OpenChannel
from resolvers.ids import to_global_id
from services.chats import chats
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

UPDATE = """
mutation ($input: UpdateOpenChannelInput!) {
  updateOpenChannel(input: $input) {
    openChannel { id noAnswerRule noAnswerTimeoutSeconds noAnswerMessage noAnswerTransferTo { id name } }
    userErrors { code field message }
  }
}"""
VISITOR_CHAT = "{ visitorChat { id status queuePosition estimatedWaitSeconds } }"
CHAT = "query ($id: ID!) { node(id: $id) { ... on Chat { status queuePosition estimatedWaitSeconds } } }"


async def test_an_admin_sets_the_rule_and_reads_it_back(db):
    channel = await make_open_channel()
    other = await make_open_channel(name="Second line")
    _, admin = await make_admin()
    gid, other_gid = to_global_id("OpenChannel", channel.id), to_global_id("OpenChannel", other.id)
    data = await execute(UPDATE, admin, input={
        "openChannelId": gid, "noAnswerRule": "TRANSFER", "noAnswerTimeoutSeconds": 300,
        "noAnswerMessage": "  ", "noAnswerTransferToId": other_gid})
    assert data["updateOpenChannel"] == {"userErrors": [], "openChannel": {
        "id": gid, "noAnswerRule": "TRANSFER", "noAnswerTimeoutSeconds": 300, "noAnswerMessage": None,
        "noAnswerTransferTo": {"id": other_gid, "name": "Second line"}}}

    data = await execute(UPDATE, admin, input={"openChannelId": gid, "noAnswerRule": "CLOSE",
                                               "noAnswerTransferToId": None, "noAnswerMessage": "We are sorry."})
    assert data["updateOpenChannel"]["openChannel"] == {
        "id": gid, "noAnswerRule": "CLOSE", "noAnswerTimeoutSeconds": 300, "noAnswerMessage": "We are sorry.",
        "noAnswerTransferTo": None}


async def test_bad_settings_are_user_errors_that_change_nothing(db):
    channel = await make_open_channel()
    _, admin = await make_admin()
    gid = to_global_id("OpenChannel", channel.id)
    before = await OpenChannel.filter(id=channel.id).values()
    for given, field in [
        ({"noAnswerTimeoutSeconds": -1, "noAnswerRule": "SEND_MESSAGE"}, "noAnswerTimeoutSeconds"),
        ({"noAnswerRule": "TRANSFER", "noAnswerTimeoutSeconds": 60}, "noAnswerTransferToId"),
        ({"noAnswerRule": "TRANSFER", "noAnswerTransferToId": gid}, "noAnswerTransferToId"),
        ({"noAnswerTransferToId": to_global_id("Chat", 1)}, "noAnswerTransferToId"),
    ]:
        payload = (await execute(UPDATE, admin, input={"openChannelId": gid, **given}))["updateOpenChannel"]
        assert payload["openChannel"] is None
        [error] = payload["userErrors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", field]), given
        assert error["message"]
    assert await OpenChannel.filter(id=channel.id).values() == before


async def test_the_visitor_and_operators_see_the_position_and_the_estimate(db, clock):
    operator, viewer = await make_operator()
    channel = await make_open_channel([operator])
    answered, _, _ = await start_chat(channel)
    ahead, _, _ = await start_chat(channel)
    mine, visitor, _ = await start_chat(channel)
    mine_gid = to_global_id("Chat", mine.id)
    for chat, came in ((answered, 0), (ahead, 0), (mine, 60)):  # on the services' clock (the test's)
        await Chat.filter(id=chat.id).update(created_at=clock.now + timedelta(seconds=came))

    # nobody answered in this channel yet: the position, no estimate
    assert (await execute(VISITOR_CHAT, visitor))["visitorChat"] == {
        "id": mine_gid, "status": "QUEUED", "queuePosition": 3, "estimatedWaitSeconds": None}

    clock.advance(120)
    await chats.answer_chat(viewer, chat_id=answered.id)  # after 120 s
    clock.advance(30)
    # the channel's median wait (120 s) less the 90 s this one has waited
    assert (await execute(VISITOR_CHAT, visitor))["visitorChat"] == {
        "id": mine_gid, "status": "QUEUED", "queuePosition": 2, "estimatedWaitSeconds": 30}
    assert (await execute(CHAT, viewer, id=mine_gid))["node"] == {
        "status": "QUEUED", "queuePosition": 2, "estimatedWaitSeconds": 30}

    await chats.answer_chat(viewer, chat_id=mine.id)  # after 90 s: the median is 105 s
    assert (await execute(VISITOR_CHAT, visitor))["visitorChat"] == {
        "id": mine_gid, "status": "ACTIVE", "queuePosition": None, "estimatedWaitSeconds": None}
    # the one ahead has waited 150 s, longer than the median: any moment now
    assert (await execute(CHAT, viewer, id=to_global_id("Chat", ahead.id)))["node"] == {
        "status": "QUEUED", "queuePosition": 1, "estimatedWaitSeconds": 0}
