"""A supervisor's morning clean-up over real HTTP: a label and a bulk action on several chats, each
with its own result; the conversations list then filters by the label."""
from __future__ import annotations

from resolvers.ids import to_global_id
from tests.e2e.actors import Admin, start_visitor_chat, unique

BULK = """mutation ($input: BulkChatActionInput!) { bulkChatAction(input: $input) {
    results { chatId chat { id status labels { name } } userErrors { code } } userErrors { code field } } }"""
BY_LABEL = """query ($labelIds: [ID!]) { conversations(filter: {labelIds: $labelIds}) {
    totalCount edges { node { id status priority } } } }"""


async def test_a_bulk_action_labels_and_finishes_many_chats_each_on_its_own(admin: Admin, http):
    operator = await admin.create_operator()
    stranger = await admin.create_operator()
    channel = await admin.create_open_channel([operator], distribution="ALL")
    other = await admin.create_open_channel([stranger], distribution="ALL")
    mine = [await start_visitor_chat(http, channel, text=f"Question {i}") for i in range(3)]
    elsewhere = await start_visitor_chat(http, other, text="Somewhere else")
    for visitor in mine[:2]:
        await operator.answer(visitor.chat_id)
    name = unique("Follow-up")
    label = (await admin.mutate("createLabel", "label { id name }", {"name": name, "color": "#1E90FF"},
                                "CreateLabelInput"))["label"]

    chat_ids = [v.chat_id for v in mine] + [elsewhere.chat_id]
    labelled = (await operator.data(BULK, input={"chatIds": chat_ids, "action": "SET_LABELS",
                                                 "labelIds": [label["id"]]}))["bulkChatAction"]
    assert labelled["userErrors"] == []
    # answered: the operator writes in them; queued: they may see but not write; elsewhere: not disclosed
    assert [r["userErrors"] for r in labelled["results"]] == [[], [], [{"code": "FORBIDDEN"}], [{"code": "NOT_FOUND"}]]
    assert [r["chat"]["labels"] for r in labelled["results"][:2]] == [[{"name": name}]] * 2

    finished = (await operator.data(BULK, input={"chatIds": chat_ids, "action": "FINISH"}))["bulkChatAction"]
    assert [r["chat"]["status"] if r["chat"] else r["userErrors"][0]["code"] for r in finished["results"]] == [
        "CLOSED", "CLOSED", "FORBIDDEN", "NOT_FOUND"]

    listed = (await operator.data(BY_LABEL, labelIds=[label["id"]]))["conversations"]
    assert listed["totalCount"] == 2
    assert {edge["node"]["id"] for edge in listed["edges"]} == {v.chat_id for v in mine[:2]}
    assert {edge["node"]["status"] for edge in listed["edges"]} == {"CLOSED"}

    too_many = (await operator.data(BULK, input={"chatIds": [mine[2].chat_id]
                                                 + [to_global_id("Chat", 900_000 + i) for i in range(100)], "action": "MARK_SPAM"}))
    assert too_many["bulkChatAction"]["results"] == []
    assert too_many["bulkChatAction"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "chatIds"]}]
    assert (await operator.chat(mine[2].chat_id))["status"] == "QUEUED"
