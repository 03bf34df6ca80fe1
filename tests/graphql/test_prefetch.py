"""A list's relations are loaded for the whole page from the selection (resolvers/prefetch.py):
what is selected is there, with the same values as a single chat resolves them; what is not
selected is not loaded."""
from __future__ import annotations

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from tests.graphql.helpers import execute  # noqa: I001 - imports the schema before its resolvers
from resolvers.prefetch import selected_names
from services.chats import chats
from services.messaging import messages
from services.chats import reads
from services.chats.chat_relations import chat_relations
from tests.factories import make_open_channel, make_operator, start_chat

RELATIONS = "client { name } operator { name } openChannel { name } lastMessage { text } unreadCount"


def _field(name: str, *children) -> SelectedField:
    return SelectedField(name=name, directives={}, arguments={}, selections=list(children), alias=None)


def test_selected_names_follow_the_path_through_fragments():
    selections = [
        _field("edges", _field("node", _field("id"),
                               FragmentSpread(name="F", type_condition="Chat", directives={},
                                              selections=[_field("client", _field("name"))]),
                               InlineFragment(type_condition="Chat", directives={},
                                              selections=[_field("unreadCount")]))),
        _field("pageInfo", _field("hasNextPage")),
    ]
    assert selected_names(selections, ["edges", "node"]) == {"id", "client", "unreadCount"}
    assert selected_names(selections, ["pageInfo"]) == {"hasNextPage"}
    assert selected_names(selections, ["nodes"]) == set()


async def _operator_with_chats(count: int):
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    for i in range(count):
        chat, visitor, _ = await start_chat(channel, name=f"Guest {i}", text=f"hello {i}")
        await chats.answer_chat(me, chat_id=chat.id)
        await messages.send_message(me, chat_id=chat.id, text=f"reply {i}")
        await messages.send_visitor_message(visitor, text=f"thanks {i}")
    return operator, channel, me


async def test_a_list_resolves_each_relation_as_the_single_chat_does(db):
    operator, channel, me = await _operator_with_chats(3)
    listed = (await execute(f"{{ myChats {{ active {{ id {RELATIONS} }} }} }}", me))["myChats"]["active"]
    assert len(listed) == 3
    for row in listed:
        single = (await execute(f'{{ chat(id: "{row["id"]}") {{ id {RELATIONS} }} }}', me))["chat"]
        assert row == single
        assert row["operator"]["name"] == operator.name and row["openChannel"]["name"] == channel.name
        assert row["lastMessage"]["text"].startswith("thanks") and row["unreadCount"] == 1


async def test_relations_not_selected_are_not_loaded(db, count_queries):
    _, _, me = await _operator_with_chats(3)
    with count_queries() as bare:
        await execute("{ myChats { active { id } } }", me)
    with count_queries() as full:
        await execute(f"{{ myChats {{ active {{ id {RELATIONS} }} }} }}", me)
    # myChats reads its chats and every selected relation in one statement; only what is
    # selected is joined
    assert full.count == bare.count == 1
    assert "JOIN client" in full.statements[0] and "JOIN" not in bare.statements[0]


async def test_conversations_prefetch_through_fragments(db, count_queries):
    _, _, me = await _operator_with_chats(3)
    query = f"""{{ conversations(first: 10) {{ edges {{ node {{ id ...R }} }} }} }}
    fragment R on Chat {{ {RELATIONS} }}"""
    with count_queries() as counter:
        edges = (await execute(query, me))["conversations"]["edges"]
    assert [e["node"]["lastMessage"]["text"] for e in edges] == ["thanks 2", "thanks 1", "thanks 0"]
    with count_queries() as bare:
        await execute("{ conversations(first: 10) { edges { node { id } } } }", me)
    # the page and every relation its fragment selects in one statement, like myChats
    assert counter.count == bare.count == 1
    assert "JOIN client" in counter.statements[0] and "JOIN" not in bare.statements[0]


async def test_one_statement_serves_each_viewer_what_they_may_see(db, count_queries):
    """services/chats/chat_relations.py: a visitor's last message is never a silent note and their
    unread count is 0; the operator sees the note and their own unread count."""
    operator, channel, me = await _operator_with_chats(1)
    chat, visitor, _ = await start_chat(channel, name="Guest", text="hello")
    await chats.answer_chat(me, chat_id=chat.id)
    await messages.send_message(me, chat_id=chat.id, text="visible reply")
    await messages.send_message(me, chat_id=chat.id, text="note to self", silent=True)
    await messages.send_visitor_message(visitor, text="one more")
    await messages.send_message(me, chat_id=chat.id, text="second note", silent=True)
    first = (await reads.my_chats(me)).active[-1]  # _operator_with_chats': ends with the guest's "thanks 0"
    wanted = {"client", "operator", "open_channel", "last_message", "unread_count"}
    with count_queries() as counter:
        mine = await chat_relations(me, [chat.id, first.id], wanted)
    assert counter.count == 1
    as_operator, as_visitor = mine[chat.id], (await chat_relations(visitor, [chat.id], wanted))[chat.id]
    assert as_operator["last_message"].text == "second note" and as_operator["last_message"].silent is True
    assert as_visitor["last_message"].text == "one more" and as_visitor["last_message"].silent is False
    assert mine[first.id]["last_message"].text == "thanks 0"
    assert (mine[first.id]["unread_count"], as_operator["unread_count"], as_visitor["unread_count"]) == (1, 0, 0)
    assert as_operator["client"].name == as_visitor["client"].name == "Guest"
    assert as_operator["operator"].id == operator.id and as_operator["open_channel"].name == channel.name
    assert as_operator["last_message"].created_at.tzinfo is not None  # a datetime on both backends
