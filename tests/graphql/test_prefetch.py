"""A list's relations are loaded for the whole page from the selection (resolvers/prefetch.py):
what is selected is there, with the same values as a single chat resolves them; what is not
selected is not loaded."""
from __future__ import annotations

import dataclasses

import pytest
from graphql import (
    GraphQLEnumType, GraphQLNamedType, GraphQLScalarType, build_schema, get_named_type, is_required_argument,
)
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from tests.graphql.helpers import execute  # noqa: I001 - imports the schema before its resolvers
from models import ChatPriority
from schema import schema
from services.chats.priorities import set_chat_priority
from services.messaging import messaging
from resolvers.prefetch import selected_names
from services.chats import chats
from services.messaging import messages
from services.chats import reads
from services.chats.chat_relations import chat_relations
from resolvers.ids import parse_global_id
from models import Chat as Chat_model
from models import Operator as Operator_model
from resolvers.chats.loaders import Loaders
from schema.chats.chat import Chat
from schema.chats.operator import Operator
from schema.chats.prefetched import attach_relations
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


async def test_the_sidebar_lists_my_chats_by_last_activity_and_offers_by_age_whatever_it_shows(db):
    """myChats orders in its statement (services/chats/reads._ORDER), and returns the activity only
    when the selection shows it: every selection lists the same order."""
    operator, channel, me = await _operator_with_chats(3)
    oldest, middle, newest = [chat.id for chat in await Chat_model.filter(operator_id=operator.id).order_by("id")]
    await messages.send_message(me, chat_id=oldest, text="the oldest chat, active again")
    for i in range(3):
        await start_chat(channel, name=f"Waiting {i}", text="hi")
    for selection in ("id", f"id {RELATIONS}", "id title waitingFirstResponse", "id createdAt"):
        groups = (await execute(f"{{ myChats {{ offered {{ id }} active {{ {selection} }} }} }}", me))["myChats"]
        active = [parse_global_id(chat["id"])[1] for chat in groups["active"]]
        assert active == [oldest, newest, middle], selection
        offered = [parse_global_id(chat["id"])[1] for chat in groups["offered"]]
        assert offered and offered == sorted(offered), selection


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


async def test_the_operators_a_page_read_serve_the_rest_of_the_selection_without_a_query(db, count_queries):
    operator, _, me = await _operator_with_chats(3)
    for chat in await Chat_model.filter(operator_id=operator.id):
        await messages.send_message(me, chat_id=chat.id, text="the operator's last word")
    query = "{ myChats { active { id operator { name } lastMessage { text author { name } } } } }"
    with count_queries() as counter:
        active = (await execute(query, me))["myChats"]["active"]
    assert [c["lastMessage"]["author"]["name"] for c in active] == [operator.name] * 3
    # the page's statement only: each message's author is the chat's operator, which that statement read
    assert counter.count == 1


async def test_a_page_primes_the_operator_loader_only_when_it_is_used(db):
    operator, _, me = await _operator_with_chats(1)
    chat = await Chat_model.get(operator_id=operator.id)
    from_page = await Operator_model.get(id=operator.id)
    loaders = Loaders(me)
    loaders.prime_operators({chat.id: {"operator": from_page, "client": None}})
    assert "operator" not in loaders.__dict__  # nothing made for a selection that loads no operator
    assert await loaders.operator.load(operator.id) is from_page  # the page's own, not read again
    later = Loaders(me)
    assert await later.operator.load(operator.id) is not from_page  # made before the page: read
    later.prime_operators({chat.id: {"operator": from_page}})
    assert await later.operator.load(operator.id) is not from_page  # a loaded key stays as it was loaded
    other, _ = await make_operator()
    fresh = Loaders(me)
    pending = fresh.operator.load(other.id)  # in the loader's batch, not yet sent
    fresh.prime_operators({chat.id: {"operator": from_page}, 0: {"operator": other}})
    assert await pending is other and await fresh.operator.load(operator.id) is from_page


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
    # one read model per operator of the statement, and one schema object per read model
    assert mine[chat.id]["operator"] is mine[first.id]["operator"]
    listed = [Chat.from_model(await Chat_model.get(id=pk)) for pk in (chat.id, first.id)]
    listed.append(dataclasses.replace(listed[0], pk=chat.id + first.id + 1000, prefetched={}))
    attach_relations(listed, mine)
    assert listed[0].prefetched["operator"] is listed[1].prefetched["operator"]
    assert isinstance(listed[0].prefetched["operator"], Operator) and listed[0].prefetched["operator"].pk == operator.id
    assert listed[0].prefetched["last_message"].text == "second note" and listed[1].prefetched["unread_count"] == 1
    assert listed[2].prefetched == {}  # not read with the page (gone since): its resolvers load it


#: the served schema, built from its SDL (what a client introspects)
_SCHEMA = build_schema(schema.as_str())


def _leaves(type_: GraphQLNamedType) -> str:
    """A selection of every argument-free scalar field of an object type (its __typename if none)."""
    fields = [name for name, field in getattr(type_, "fields", {}).items()
              if isinstance(get_named_type(field.type), (GraphQLScalarType, GraphQLEnumType))
              and not any(is_required_argument(argument) for argument in field.args.values())]
    return " ".join(fields) or "__typename"


def _selections(type_name: str) -> dict[str, str]:
    """Each argument-free field of a schema type, as a selection (an object field with its leaves)."""
    selections = {}
    for name, field in _SCHEMA.type_map[type_name].fields.items():
        if any(is_required_argument(argument) for argument in field.args.values()):
            continue
        named = get_named_type(field.type)
        leaf = isinstance(named, (GraphQLScalarType, GraphQLEnumType))
        selections[name] = name if leaf else f"{name} {{ {_leaves(named)} }}"
    return selections


async def _chats_in_every_state():
    """Chats whose columns are set in every way a chat's can be: answered and replied to, pinned, a
    higher priority, finished, a message edited, one queued, one answered and waiting for a reply."""
    operator, channel, me = await _operator_with_chats(3)
    page = (await reads.my_chats(me)).active
    await chats.pin_chat(me, chat_id=page[0].id, pinned=True)
    await set_chat_priority(me, chat_id=page[1].id, priority=ChatPriority.HIGH)
    await chats.finish_chat(me, chat_id=page[2].id)
    sent = await messages.send_message(me, chat_id=page[0].id, text="a typo")
    await messaging.edit_message(me, message_id=sent.id, text="no typo")
    await start_chat(channel, name="Queued guest", text="anyone?")
    waiting, _, _ = await start_chat(channel, name="Waiting guest", text="hello?")
    await chats.answer_chat(me, chat_id=waiting.id)
    await messages.send_message(me, chat_id=page[1].id, text="the latest")  # active last is not the newest id
    return me


#: the lists that read a selection's columns: a query of a selection of Chat, and its chats
LISTS = {
    "conversations": ("{{ conversations(first: 10) {{ edges {{ node {{ {} }} }} }} }}",
                      lambda data: [edge["node"] for edge in data["conversations"]["edges"]]),
    "myChats": ("{{ myChats {{ offered {{ {0} }} waitingFirstResponse {{ {0} }} active {{ {0} }} "
                "internal {{ {0} }} }} }}", lambda data: [chat for group in data["myChats"].values() for chat in group]),
}


@pytest.mark.parametrize("listed", LISTS)
async def test_a_list_reads_for_each_chat_field_what_a_single_chat_shows(db, listed):
    """A list reads only the columns its selection is made of (resolvers/prefetch.CHAT_COLUMNS,
    MESSAGE_COLUMNS): each field of Chat, and of its last message, selected alone in the list, is
    what the single chat gives for it."""
    me = await _chats_in_every_state()
    template, chats_of = LISTS[listed]
    single = {}
    chat_fields = _selections("Chat")
    order = [chat["id"] for chat in chats_of(await execute(template.format(" ".join(chat_fields.values())), me))]
    assert len(order) == (5 if listed == "conversations" else 4)  # myChats: not the closed chat
    for name, selection in chat_fields.items():
        found = chats_of(await execute(template.format(f"id {selection}"), me))
        assert [chat["id"] for chat in found] == order, name  # grouped and ordered as when read whole
        for chat in found:
            if chat["id"] not in single:
                single[chat["id"]] = (await execute(
                    f'{{ chat(id: "{chat["id"]}") {{ id {" ".join(chat_fields.values())} }} }}', me))["chat"]
            assert chat[name] == single[chat["id"]][name], (name, chat["id"])
    for name, selection in _selections("Message").items():
        for chat in chats_of(await execute(template.format(f"id lastMessage {{ {selection} }}"), me)):
            whole = (await execute(f'{{ chat(id: "{chat["id"]}") {{ lastMessage {{ {selection} }} }} }}', me)
                     )["chat"]["lastMessage"]
            assert chat["lastMessage"] == whole, (name, chat["id"])
    # the chats set every column the fields read: a column read as NULL would show
    shown = list(single.values())
    for name in ("createdAt", "answeredAt", "firstResponseAt", "autoCloseAt", "client", "operator", "openChannel",
                 "lastMessage", "queuePosition", "estimatedWaitSeconds"):
        assert any(chat[name] is not None for chat in shown), name
    assert {chat["status"] for chat in shown} >= {"ACTIVE", "QUEUED"}
    assert any(chat["pinned"] for chat in shown) and any(chat["priority"] == "HIGH" for chat in shown)
    assert {chat["waitingFirstResponse"] for chat in shown} == {True, False}
    assert any(chat["lastMessage"]["editedAt"] for chat in shown)
    if listed == "conversations":
        assert any(chat["closedAt"] for chat in shown) and "CLOSED" in {chat["status"] for chat in shown}


async def test_a_page_reads_only_the_columns_its_selection_shows(db, count_queries):
    me = await _chats_in_every_state()
    with count_queries() as narrow:
        data = await execute("{ conversations(first: 10) { edges { node { id title lastMessage { text } } } } }", me)
    listed = [edge["node"]["id"] for edge in data["conversations"]["edges"]]
    assert len(listed) > 1
    with count_queries() as wide:
        await execute("{ conversations(first: 10) { edges { node { id title closedAt messages { totalCount } "
                      "lastMessage { text editedAt } } } } }", me)
    page = next(statement for statement in narrow.statements if "JOIN message" in statement)
    for column in ("answered_at", "first_response_at", "closed_at", "auto_close_at", "last_message__created_at",
                   "last_message__edited_at"):
        assert f"NULL AS {column}" in page, column
    assert "c.title AS title" in page and "c.created_at AS created_at" in page  # the order's key, read to order by
    # ... and not returned: no cursor or createdAt is selected (a timestamp is the dearest column to decode)
    outer = page.split(") SELECT ", 1)[1]
    assert "NULL AS created_at" in outer and "ORDER BY c.created_at DESC, c.id DESC" in outer
    whole = next(statement for statement in wide.statements if "JOIN message" in statement)
    # `messages` is not in CHAT_COLUMNS: every column of the chat is read
    assert "NULL AS answered_at" not in whole and "lm.edited_at AS last_message__edited_at" in whole
    assert "NULL AS last_message__created_at" in whole
    for query, returned in (("edges { cursor node { id lastMessage { text } } }", True),
                            ("edges { node { id createdAt lastMessage { text } } }", True),
                            ("edges { node { id title } }", False)):  # no relation: one SELECT
        with count_queries() as counted:
            data = await execute(f"{{ conversations(first: 10) {{ {query} }} }}", me)
        statement = next(statement for statement in counted.statements if "ORDER BY c.created_at" in statement)
        assert ("NULL AS created_at" not in statement) is returned, query
        assert [edge["node"]["id"] for edge in data["conversations"]["edges"]] == listed, query
    with count_queries() as sidebar:
        await execute("{ myChats { active { id title lastMessage { text } } } }", me)
    statement = next(statement for statement in sidebar.statements if "JOIN message" in statement)
    # what the sidebar groups and orders by is read whatever the selection, and returned only when shown
    assert "NULL AS answered_at" in statement and "NULL AS last_message__created_at" in statement
    inner, outer = statement.split(") SELECT ", 1)
    assert "c.last_activity_at AS last_activity_at" in inner
    assert "c.first_response_at IS NULL AS awaiting_reply" in inner
    assert "NULL AS last_activity_at" in outer and "NULL AS first_response_at" in outer
    assert "ORDER BY c.offered, CASE WHEN c.offered = 0 THEN c.id ELSE 0 END, c.last_activity_at DESC" in outer
