"""Canned responses (placeholders, who manages which), tasks and the feed, through the API."""
from __future__ import annotations

from models import Message, OperatorRole
from services.messaging import messages
from tests.factories import make_operator
from tests.graphql.helpers import execute
from tests.messaging.worlds import answered_chat, gid

CREATE = """mutation($i: CreateCannedResponseInput!) { createCannedResponse(input: $i) {
  cannedResponse { id title text openChannel { name } createdBy { name } } userErrors { code field } } }"""
LIST = "query($s: String, $c: ID) { cannedResponses(search: $s, openChannelId: $c) { title } }"


async def test_canned_response_is_sent_with_placeholders_filled(db):
    w = await answered_chat("Ann Client")
    created = await execute(CREATE, w.me, i={"title": "Greeting",
                                              "text": "Hello {client.name}, I am {operator.name}. {unknown}"})
    canned = created["createCannedResponse"]["cannedResponse"]
    assert canned["openChannel"] is None and canned["createdBy"] == {"name": "Olga Operator"}
    data = await execute("mutation($c: ID!, $r: ID!) { sendCannedResponse(input: {chatId: $c, cannedResponseId: $r})"
                         " { message { text silent } userErrors { code } } }", w.me, c=w.chat_gid, r=canned["id"])
    assert data["sendCannedResponse"]["message"] == {
        "text": "Hello Ann Client, I am Olga Operator. {unknown}", "silent": False}
    history = await execute("{ visitorChat { lastMessage { text } } }", w.visitor)
    assert history["visitorChat"]["lastMessage"]["text"].startswith("Hello Ann Client")


async def test_personal_ones_are_private_and_channel_ones_belong_to_supervisors(db):
    w = await answered_chat()
    supervisor, boss = await make_operator("Sue Supervisor", role=OperatorRole.SUPERVISOR)
    mine = (await execute(CREATE, w.me, i={"title": "Mine", "text": "x"}))["createCannedResponse"]["cannedResponse"]
    channel_gid = gid("OpenChannel", w.channel.id)
    refused = await execute(CREATE, w.me, i={"title": "Shared", "text": "y", "openChannelId": channel_gid})
    assert refused["createCannedResponse"]["userErrors"] == [{"code": "FORBIDDEN", "field": ["input", "openChannelId"]}]
    shared = (await execute(CREATE, boss, i={"title": "Shared hello", "text": "y", "openChannelId": channel_gid})
              )["createCannedResponse"]["cannedResponse"]
    assert shared["openChannel"] is not None
    assert [r["title"] for r in (await execute(LIST, w.me))["cannedResponses"]] == ["Mine", "Shared hello"]
    assert [r["title"] for r in (await execute(LIST, w.colleague_viewer))["cannedResponses"]] == ["Shared hello"]
    assert (await execute(LIST, w.outsider_viewer))["cannedResponses"] == []
    assert [r["title"] for r in (await execute(LIST, w.me, s="hello"))["cannedResponses"]] == ["Shared hello"]
    assert [r["title"] for r in (await execute(LIST, w.me, c=channel_gid))["cannedResponses"]] == ["Shared hello"]
    update = "mutation($i: UpdateCannedResponseInput!) { updateCannedResponse(input: $i) { cannedResponse { title } " \
             "userErrors { code } } }"
    assert (await execute(update, w.me, i={"cannedResponseId": shared["id"], "title": "Mine now"})
            )["updateCannedResponse"]["userErrors"] == [{"code": "FORBIDDEN"}]
    assert (await execute(update, w.colleague_viewer, i={"cannedResponseId": mine["id"], "title": "Stolen"})
            )["updateCannedResponse"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert (await execute(update, w.me, i={"cannedResponseId": mine["id"], "title": "Mine, renamed"})
            )["updateCannedResponse"] == {"cannedResponse": {"title": "Mine, renamed"}, "userErrors": []}
    delete = "mutation($r: ID!) { deleteCannedResponse(input: {cannedResponseId: $r}) { userErrors { code } } }"
    assert (await execute(delete, boss, r=shared["id"]))["deleteCannedResponse"]["userErrors"] == []
    assert [r["title"] for r in (await execute(LIST, w.me))["cannedResponses"]] == ["Mine, renamed"]


async def test_save_message_as_canned_response(db):
    w = await answered_chat()
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="Our hours are 9 to 5, {client.name}.")
    data = await execute("mutation($m: ID!) { saveMessageAsCannedResponse(input: {messageId: $m}) "
                         "{ cannedResponse { title text openChannel { id } } userErrors { code } } }", w.me,
                         m=gid("Message", sent.id))
    assert data["saveMessageAsCannedResponse"]["cannedResponse"] == {
        "title": "Our hours are 9 to 5, {client.name}.", "text": "Our hours are 9 to 5, {client.name}.",
        "openChannel": None}


TASK = """mutation($i: CreateTaskFromMessageInput!) { createTaskFromMessage(input: $i) {
  task { title description status responsible { name } createdBy { name } deadline
         sourceMessage { id chat { id } } }
  userErrors { code field } } }"""


async def test_task_from_message_defaults_and_my_tasks(db):
    w = await answered_chat()
    client_message = await Message.filter(chat_id=w.chat.id).first()
    data = await execute(TASK, w.me, i={"messageId": gid("Message", client_message.id)})
    assert data["createTaskFromMessage"] == {"task": {
        "title": "Hello, I need help", "description": "", "status": "OPEN", "responsible": {"name": "Olga Operator"},
        "createdBy": {"name": "Olga Operator"}, "deadline": None,
        "sourceMessage": {"id": gid("Message", client_message.id), "chat": {"id": w.chat_gid}}}, "userErrors": []}
    await execute(TASK, w.me, i={"messageId": gid("Message", client_message.id), "title": "Call back",
                                 "responsibleId": gid("Operator", w.outsider.id),
                                 "deadline": "2030-01-01T10:00:00+00:00"})
    outsider_tasks = (await execute("{ myTasks { title deadline sourceMessage { id } } }", w.outsider_viewer))["myTasks"]
    # the responsible may not read the chat: the task says so by a null source message
    assert outsider_tasks == [{"title": "Call back", "deadline": "2030-01-01T10:00:00+00:00", "sourceMessage": None}]
    assert [t["title"] for t in (await execute("{ myTasks { title } }", w.me))["myTasks"]] == [
        "Call back", "Hello, I need help"]
    refused = await execute(TASK, w.outsider_viewer, i={"messageId": gid("Message", client_message.id)})
    assert refused["createTaskFromMessage"]["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "messageId"]}]


async def test_feed_posts_from_messages_newest_first_with_paging(db):
    w = await answered_chat()
    first = await messages.send_message(w.me, chat_id=w.chat.id, text="We shipped the new tariff")
    second = await messages.send_message(w.me, chat_id=w.chat.id, text="Great feedback today")
    post = "mutation($i: CreateFeedPostFromMessageInput!) { createFeedPostFromMessage(input: $i) " \
           "{ feedPost { id text author { name } sourceMessage { id } } userErrors { code } } }"
    one = (await execute(post, w.me, i={"messageId": gid("Message", first.id)}))["createFeedPostFromMessage"]
    assert one["feedPost"]["text"] == "We shipped the new tariff" and one["feedPost"]["author"] == {
        "name": "Olga Operator"}
    await execute(post, w.me, i={"messageId": gid("Message", second.id), "text": "Kudos to the team"})
    feed = (await execute("{ feed { text sourceMessage { id } } }", w.me))["feed"]
    assert [p["text"] for p in feed] == ["Kudos to the team", "We shipped the new tariff"]
    outsider_feed = (await execute("{ feed { text sourceMessage { id } } }", w.outsider_viewer))["feed"]
    assert [p["sourceMessage"] for p in outsider_feed] == [None, None]
    page_query = "query($a: String) { feed(first: 1, after: $a) { id text } }"
    page = (await execute(page_query, w.me, a=None))["feed"]
    assert [p["text"] for p in page] == ["Kudos to the team"]
    page = (await execute(page_query, w.me, a=page[0]["id"]))["feed"]
    assert [p["text"] for p in page] == ["We shipped the new tariff"]
    assert (await execute(page_query, w.me, a=page[0]["id"]))["feed"] == []


async def test_node_reaches_tasks_and_canned_responses_only_for_those_who_may_see_them(db):
    w = await answered_chat()
    client_message = await Message.filter(chat_id=w.chat.id).first()
    task = (await execute(TASK, w.me, i={"messageId": gid("Message", client_message.id)})
            )["createTaskFromMessage"]
    canned = (await execute(CREATE, w.me, i={"title": "Mine", "text": "x"}))["createCannedResponse"]["cannedResponse"]
    tasks = (await execute("{ myTasks { id } }", w.me))["myTasks"]
    node = "query($id: ID!) { node(id: $id) { id } }"
    for global_id in (tasks[0]["id"], canned["id"]):
        assert (await execute(node, w.me, id=global_id))["node"] == {"id": global_id}
        assert (await execute(node, w.outsider_viewer, id=global_id))["node"] is None
    assert task["userErrors"] == []
