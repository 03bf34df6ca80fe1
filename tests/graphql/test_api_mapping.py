"""The GraphQL mapping: errors, node() authorisation, silent notes, pagination, preferences."""
from __future__ import annotations

import logging

import pytest

from models import Chat, Event, QueueDistribution
from resolvers.ids import to_global_id
from services.chats import chats
from services.messaging import messages
from services.identity.viewer import ANONYMOUS
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute, execute_raw


async def _answered_chat():
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    chat, visitor, _ = await start_chat(channel, name="Ann")
    await chats.answer_chat(me, chat_id=chat.id)
    return chat, me, visitor, channel


async def test_anonymous_gets_top_level_unauthenticated(db):
    result = await execute_raw("{ me { operator { id } } }", ANONYMOUS)
    assert result.data is None
    assert result.errors[0].extensions == {"code": "UNAUTHENTICATED"}


async def test_anonymous_mutation_is_unauthenticated_and_changes_nothing(db):
    chat, *_ = await _answered_chat()
    events = await Event.all().count()
    result = await execute_raw('mutation($c: ID!) { finishChat(input: {chatId: $c}) { chat { id } } }', ANONYMOUS,
                               c=to_global_id("Chat", chat.id))
    assert result.errors[0].extensions == {"code": "UNAUTHENTICATED"}
    assert (await Chat.get(id=chat.id)).status.value == "ACTIVE"
    assert await Event.all().count() == events


async def test_domain_failure_is_a_user_error_with_code_and_field(db):
    chat, me, *_ = await _answered_chat()
    data = await execute('mutation($c: ID!) { renameChat(input: {chatId: $c, title: "  "}) '
                         '{ chat { id } userErrors { code field message } } }', me, c=to_global_id("Chat", chat.id))
    assert data["renameChat"] == {"chat": None, "userErrors": [
        {"code": "INVALID_INPUT", "field": ["input", "title"], "message": "The title cannot be empty."}]}


async def test_wrong_type_of_id_is_invalid_input(db):
    chat, me, *_ = await _answered_chat()
    data = await execute('mutation($c: ID!) { finishChat(input: {chatId: $c}) { userErrors { code field } } }', me,
                         c=to_global_id("Operator", 1))
    assert data["finishChat"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "chatId"]}]


async def test_unexpected_errors_are_masked_and_logged(db, monkeypatch, caplog):
    chat, me, *_ = await _answered_chat()

    async def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("services.chats.reads.my_chats", broken)
    with caplog.at_level(logging.ERROR, logger="openchannels.errors"):
        result = await execute_raw("{ myChats { active { id } } }", me)
    message = result.errors[0].message
    assert "hunter2" not in message and message.startswith("Internal server error")
    request_id = result.errors[0].extensions["requestId"]
    assert any(request_id in record.getMessage() and "hunter2" in str(record.exc_info[1]) for record in caplog.records)


async def test_node_reaches_only_what_the_viewer_may_see(db):
    chat, me, visitor, channel = await _answered_chat()
    other_chat, other_visitor, _ = await start_chat(channel, name="Bob")
    stranger, stranger_viewer = await make_operator()
    note = await messages.send_message(me, chat_id=chat.id, text="internal note", silent=True)
    query = "query($id: ID!) { node(id: $id) { id ... on Chat { title } ... on Message { text } } }"
    chat_id, note_id = to_global_id("Chat", chat.id), to_global_id("Message", note.id)

    assert (await execute(query, me, id=chat_id))["node"]["title"] == "Ann"
    assert (await execute(query, visitor, id=chat_id))["node"]["title"] == "Ann"
    assert (await execute(query, other_visitor, id=chat_id))["node"] is None
    assert (await execute(query, stranger_viewer, id=chat_id))["node"] is None
    assert (await execute(query, me, id=note_id))["node"]["text"] == "internal note"
    assert (await execute(query, visitor, id=note_id))["node"] is None
    invalid = await execute_raw(query, me, id="not-an-id")  # not "nothing there": no ID at all (issue 14)
    assert [(e.extensions["code"], e.message) for e in invalid.errors] == [("INVALID_INPUT", "Not a valid ID.")]


async def test_visitor_never_reads_silent_notes(db):
    chat, me, visitor, _ = await _answered_chat()
    await messages.send_message(me, chat_id=chat.id, text="note: client is angry", silent=True)
    await messages.send_message(me, chat_id=chat.id, text="How can I help?")
    query = "{ visitorChat { lastMessage { text } messages { totalCount edges { node { text silent } } } } }"
    data = (await execute(query, visitor))["visitorChat"]
    texts = [e["node"]["text"] for e in data["messages"]["edges"]]
    assert texts == ["Hello, I need help", "How can I help?"]
    assert data["messages"]["totalCount"] == 2
    assert data["lastMessage"]["text"] == "How can I help?"
    op_view = await execute('query($c: ID!) { chat(id: $c) { messages { totalCount } } }', me,
                            c=to_global_id("Chat", chat.id))
    assert op_view["chat"]["messages"]["totalCount"] == 3


async def test_messages_pagination_forward_and_backward(db):
    chat, me, *_ = await _answered_chat()
    for i in range(5):
        await messages.send_message(me, chat_id=chat.id, text=f"m{i}")
    query = """query($c: ID!, $first: Int, $after: String, $last: Int, $before: String) { chat(id: $c) {
      messages(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { text } } } } }"""
    c = to_global_id("Chat", chat.id)
    page1 = (await execute(query, me, c=c, first=4))["chat"]["messages"]
    assert [e["node"]["text"] for e in page1["edges"]] == ["Hello, I need help", "m0", "m1", "m2"]
    assert page1["pageInfo"]["hasNextPage"] and page1["totalCount"] == 6
    page2 = (await execute(query, me, c=c, first=4, after=page1["pageInfo"]["endCursor"]))["chat"]["messages"]
    assert [e["node"]["text"] for e in page2["edges"]] == ["m3", "m4"]
    assert not page2["pageInfo"]["hasNextPage"] and page2["pageInfo"]["hasPreviousPage"]
    tail = (await execute(query, me, c=c, last=2))["chat"]["messages"]
    assert [e["node"]["text"] for e in tail["edges"]] == ["m3", "m4"] and tail["pageInfo"]["hasPreviousPage"]
    too_big = await execute_raw(query, me, c=c, first=101)
    assert too_big.errors[0].extensions["code"] == "INVALID_INPUT"


@pytest.mark.parametrize("grouped", [True, False])
async def test_waiting_first_response_grouping_follows_preference(db, grouped):
    chat, me, *_ = await _answered_chat()
    await execute('mutation($g: Boolean) { updatePreferences(input: {groupWaitingFirstResponse: $g}) '
                  '{ preferences { groupWaitingFirstResponse } } }', me, g=grouped)
    data = (await execute("{ myChats { waitingFirstResponse { id } active { id waitingFirstResponse } } }", me))
    groups = data["myChats"]
    if grouped:
        assert len(groups["waitingFirstResponse"]) == 1 and groups["active"] == []
    else:
        assert groups["waitingFirstResponse"] == [] and groups["active"][0]["waitingFirstResponse"] is True


async def test_admin_configures_channels_and_operators_cannot(db):
    operator, me = await make_operator()
    _, admin = await make_admin()
    create = """mutation($ids: [ID!]) { createOpenChannel(input: {name: "Sales", distribution: STRICT,
      operatorIds: $ids, answerTimeoutSeconds: 30}) { openChannel { id name distribution answerTimeoutSeconds
      autoCloseAfterSeconds ratingEnabled operators { name } } userErrors { code } } }"""
    ids = [to_global_id("Operator", operator.id)]
    refused = await execute(create, me, ids=ids)
    assert refused["createOpenChannel"] == {"openChannel": None, "userErrors": [{"code": "FORBIDDEN"}]}
    made = (await execute(create, admin, ids=ids))["createOpenChannel"]["openChannel"]
    assert made["distribution"] == "STRICT" and made["answerTimeoutSeconds"] == 30
    assert made["autoCloseAfterSeconds"] == 86400 and made["ratingEnabled"] is True
    assert [o["name"] for o in made["operators"]] == [operator.name]
    update = """mutation($id: ID!) { updateOpenChannel(input: {openChannelId: $id, name: "Sales EU",
      operatorIds: [], welcomeMessage: "Hi!"}) { openChannel { name operators { id } welcomeMessage
      distribution } userErrors { code } } }"""
    updated = (await execute(update, admin, id=made["id"]))["updateOpenChannel"]["openChannel"]
    assert updated == {"name": "Sales EU", "operators": [], "welcomeMessage": "Hi!", "distribution": "STRICT"}
    assert (await execute("{ openChannels { id } }", me))["openChannels"] == []


async def test_visitor_sees_the_operator_name_but_not_staff_details(db):
    chat, me, visitor, _ = await _answered_chat()
    named = await execute("{ visitorChat { operator { name } } }", visitor)
    assert named["visitorChat"]["operator"]["name"]
    for field in ("email", "activeChatsCount", "openChannels { id }"):
        result = await execute_raw(f"{{ visitorChat {{ operator {{ name {field} }} }} }}", visitor)
        assert result.errors[0].extensions == {"code": "FORBIDDEN"}, field
    members = await execute_raw("{ visitorChat { openChannel { name operators { name } } } }", visitor)
    assert members.errors[0].extensions == {"code": "FORBIDDEN"}
    assert (await execute("{ me { operator { email } } }", me))["me"]["operator"]["email"].endswith("@example.test")
