"""The GraphQL mapping of labels, priorities, client attributes, task updates and bulk actions:
payloads with userErrors and codes, nothing changed on bad input (the rules: tests/services)."""
from __future__ import annotations

from models import Chat, ChatPriority, ChatStatus, ClientAttribute, Label, QueueDistribution, Task
from resolvers.ids import to_global_id
from services.chats import chats
from services.messaging import messages, tasks
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

CREATE_LABEL = """mutation($input: CreateLabelInput!) { createLabel(input: $input) {
    label { id name color } userErrors { code field message } } }"""
SET_LABELS = """mutation($input: SetChatLabelsInput!) { setChatLabels(input: $input) {
    chat { id labels { name } } userErrors { code field } } }"""
SET_PRIORITY = """mutation($input: SetChatPriorityInput!) { setChatPriority(input: $input) {
    chat { id priority } userErrors { code field } } }"""
SET_ATTRIBUTES = """mutation($input: SetClientAttributesInput!) { setClientAttributes(input: $input) {
    client { id attributes { key value } } userErrors { code field } } }"""
UPDATE_TASK = """mutation($input: UpdateTaskInput!) { updateTask(input: $input) {
    task { id title status } userErrors { code field } } }"""
BULK = """mutation($input: BulkChatActionInput!) { bulkChatAction(input: $input) {
    results { chatId chat { id status priority } userErrors { code } } userErrors { code field message } } }"""


async def _answered():
    me, me_v = await make_operator()
    _, admin_v = await make_admin()
    channel = await make_open_channel([me], distribution=QueueDistribution.STRICT)
    chat, visitor_v, _ = await start_chat(channel)
    await chats.answer_chat(me_v, chat_id=chat.id)
    return me_v, admin_v, visitor_v, chat


async def test_labels_are_defined_listed_and_set_through_the_api(db):
    me_v, admin_v, visitor_v, chat = await _answered()
    made = await execute(CREATE_LABEL, admin_v, input={"name": "VIP", "color": "#ffd700"})
    assert made["createLabel"]["userErrors"] == [] and made["createLabel"]["label"]["color"] == "#FFD700"
    label_id = made["createLabel"]["label"]["id"]
    refused = await execute(CREATE_LABEL, me_v, input={"name": "Other", "color": "#000000"})
    assert refused["createLabel"] == {"label": None, "userErrors": [
        {"code": "FORBIDDEN", "field": None, "message": "Only an admin can change the configuration."}]}
    bad = await execute(CREATE_LABEL, admin_v, input={"name": "Other", "color": "blue"})
    assert bad["createLabel"]["userErrors"][0]["field"] == ["input", "color"]
    assert await Label.all().count() == 1
    assert (await execute("{ labels { id name } }", me_v))["labels"] == [{"id": label_id, "name": "VIP"}]
    assert (await execute("query($id: ID!) { node(id: $id) { id } }", me_v, id=label_id))["node"] == {"id": label_id}

    chat_id = to_global_id("Chat", chat.id)
    done = await execute(SET_LABELS, me_v, input={"chatId": chat_id, "labelIds": [label_id]})
    assert done["setChatLabels"] == {"chat": {"id": chat_id, "labels": [{"name": "VIP"}]}, "userErrors": []}
    not_a_label = await execute(SET_LABELS, me_v, input={"chatId": chat_id, "labelIds": [chat_id]})
    assert not_a_label["setChatLabels"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "labelIds"]}]
    seen_by_visitor = await execute("{ visitorChat { labels { name } priority } }", visitor_v)
    assert seen_by_visitor["visitorChat"] == {"labels": [], "priority": "NORMAL"}


async def test_priority_and_client_attributes_through_the_api(db):
    me_v, _, visitor_v, chat = await _answered()
    chat_id = to_global_id("Chat", chat.id)
    done = await execute(SET_PRIORITY, me_v, input={"chatId": chat_id, "priority": "URGENT"})
    assert done["setChatPriority"] == {"chat": {"id": chat_id, "priority": "URGENT"}, "userErrors": []}
    assert (await Chat.get(id=chat.id)).priority == ChatPriority.URGENT

    client_id = to_global_id("Client", chat.client_id)
    attributes = [{"key": "plan", "value": "gold"}, {"key": "region", "value": "EU"}]
    done = await execute(SET_ATTRIBUTES, me_v, input={"clientId": client_id, "attributes": attributes})
    assert done["setClientAttributes"]["client"]["attributes"] == [
        {"key": "plan", "value": "gold"}, {"key": "region", "value": "EU"}]
    removed = await execute(SET_ATTRIBUTES, me_v, input={"clientId": client_id,
                                                         "attributes": [{"key": "region", "value": None}]})
    assert removed["setClientAttributes"]["client"]["attributes"] == [{"key": "plan", "value": "gold"}]
    bad = await execute(SET_ATTRIBUTES, me_v, input={"clientId": client_id,
                                                     "attributes": [{"key": "ok", "value": "1"}, {"key": "no way", "value": "2"}]})
    assert bad["setClientAttributes"] == {"client": None, "userErrors": [
        {"code": "INVALID_INPUT", "field": ["input", "attributes", "1", "key"]}]}
    assert await ClientAttribute.all().count() == 1
    visitor = await execute(SET_ATTRIBUTES, visitor_v, input={"clientId": client_id, "attributes": attributes})
    assert visitor["setClientAttributes"]["userErrors"][0]["code"] == "FORBIDDEN"
    own = await execute("{ visitorChat { client { attributes { key } } } }", visitor_v)
    assert own["visitorChat"]["client"]["attributes"] == []


async def test_update_task_through_the_api(db):
    me_v, _, _, chat = await _answered()
    message = await messages.send_message(me_v, chat_id=chat.id, text="Send the invoice")
    task = await tasks.create_task_from_message(me_v, message_id=message.id)
    task_id = to_global_id("Task", task.id)
    done = await execute(UPDATE_TASK, me_v, input={"taskId": task_id, "status": "DONE", "title": "Invoice sent"})
    assert done["updateTask"] == {"task": {"id": task_id, "title": "Invoice sent", "status": "DONE"}, "userErrors": []}
    stranger_v = (await make_operator())[1]
    hidden = await execute(UPDATE_TASK, stranger_v, input={"taskId": task_id, "status": "OPEN"})
    assert hidden["updateTask"] == {"task": None, "userErrors": [{"code": "NOT_FOUND", "field": ["input", "taskId"]}]}
    assert (await Task.get(id=task.id)).status.value == "DONE"


async def test_bulk_actions_report_per_chat_and_refuse_more_than_a_hundred(db):
    me_v, _, _, chat = await _answered()
    chat_id = to_global_id("Chat", chat.id)
    missing = to_global_id("Chat", 999_999)
    done = await execute(BULK, me_v, input={"chatIds": [chat_id, missing], "action": "SET_PRIORITY", "priority": "HIGH"})
    assert done["bulkChatAction"] == {"results": [
        {"chatId": chat_id, "chat": {"id": chat_id, "status": "ACTIVE", "priority": "HIGH"}, "userErrors": []},
        {"chatId": missing, "chat": None, "userErrors": [{"code": "NOT_FOUND"}]}], "userErrors": []}

    too_many = [chat_id] + [to_global_id("Chat", 10_000 + i) for i in range(100)]
    refused = await execute(BULK, me_v, input={"chatIds": too_many, "action": "FINISH"})
    assert refused["bulkChatAction"]["results"] == []
    assert [(e["code"], e["field"]) for e in refused["bulkChatAction"]["userErrors"]] == [
        ("INVALID_INPUT", ["input", "chatIds"])]
    malformed = await execute(BULK, me_v, input={"chatIds": [chat_id, "nonsense"], "action": "FINISH"})
    assert malformed["bulkChatAction"]["userErrors"][0]["code"] == "INVALID_INPUT"
    assert (await Chat.get(id=chat.id)).status == ChatStatus.ACTIVE
