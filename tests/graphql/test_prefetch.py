"""A list's relations are loaded for the whole page from the selection (resolvers/prefetch.py):
what is selected is there, with the same values as a single chat resolves them; what is not
selected is not loaded."""
from __future__ import annotations

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from tests.graphql.helpers import execute  # noqa: I001 - imports the schema before its resolvers
from resolvers.prefetch import selected_names
from services import chats, messages
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
    # one statement per selected relation for the whole list; the last message takes two (ids, rows)
    assert full.count == bare.count + 6


async def test_conversations_prefetch_through_fragments(db, count_queries):
    _, _, me = await _operator_with_chats(3)
    query = f"""{{ conversations(first: 10) {{ edges {{ node {{ id ...R }} }} }} }}
    fragment R on Chat {{ {RELATIONS} }}"""
    with count_queries() as counter:
        edges = (await execute(query, me))["conversations"]["edges"]
    assert [e["node"]["lastMessage"]["text"] for e in edges] == ["thanks 2", "thanks 1", "thanks 0"]
    with count_queries() as bare:
        await execute("{ conversations(first: 10) { edges { node { id } } } }", me)
    assert counter.count == bare.count + 6
