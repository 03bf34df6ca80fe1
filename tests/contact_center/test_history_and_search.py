"""Client history (client, Client.chats, Client.messages) and full-text message search."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from hypothesis import given
from tortoise import connections
from hypothesis import strategies as st

from models import Chat, Message, QueueDistribution
from resolvers.ids import to_global_id
from services.chats import chats
from services.contact_center import conversations
from services.messaging import messages
from services.contact_center import search
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute, execute_raw

T0 = datetime(2030, 5, 1, 9, 0, tzinfo=timezone.utc)

HISTORY = """query($id: ID!, $search: String, $from: DateTime, $to: DateTime) { client(id: $id) {
  name
  chats(first: 10) { totalCount edges { node { id status } } }
  messages(search: $search, from: $from, to: $to, first: 50) { totalCount edges { node { text silent authorKind } } }
} }"""

SEARCH = """query($q: String!, $filter: MessageSearchFilter, $first: Int, $after: String) {
  searchMessages(query: $q, filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { text silent chat { id } } }
  }
}"""


async def _returning_client():
    """Carla wrote twice: an older, closed conversation about a refund, and a newer open one.
    Ann answered both; Ann left a silent note in the old one."""
    ann, ann_v = await make_operator("Ann")
    channel = await make_open_channel([ann], distribution=QueueDistribution.STRICT)
    old, carla, _ = await start_chat(channel, "I want a refund for my blender", name="Carla")
    await chats.answer_chat(ann_v, chat_id=old.id)
    await messages.send_message(ann_v, chat_id=old.id, text="The refund is on its way")
    await messages.send_message(ann_v, chat_id=old.id, text="Customer was angry about the blender", silent=True)
    await chats.finish_chat(ann_v, chat_id=old.id)
    await messages.send_visitor_message(carla, text="Hello again, question about delivery")
    new = await Chat.filter(client_id=old.client_id).order_by("-id").first()
    await chats.answer_chat(ann_v, chat_id=new.id)
    await Message.filter(chat_id=old.id).update(created_at=T0)
    await Message.filter(chat_id=new.id).update(created_at=T0 + timedelta(days=2))
    return ann_v, channel, old, new, carla


async def test_client_history_lists_every_conversation_newest_first_and_searches_messages(db):
    ann_v, _, old, new, _ = await _returning_client()
    client_id = to_global_id("Client", old.client_id)
    data = (await execute(HISTORY, ann_v, id=client_id))["client"]
    assert data["name"] == "Carla"
    assert [e["node"]["id"] for e in data["chats"]["edges"]] == [to_global_id("Chat", new.id),
                                                                  to_global_id("Chat", old.id)]
    assert _written(data["messages"]) == [  # the silent note included for the operator, oldest first
        "I want a refund for my blender", "The refund is on its way", "Customer was angry about the blender",
        "Hello again, question about delivery"]

    found = (await execute(HISTORY, ann_v, id=client_id, search="refund"))["client"]["messages"]
    assert sorted(e["node"]["text"] for e in found["edges"]) == ["I want a refund for my blender",
                                                                  "The refund is on its way"]
    dated = (await execute(HISTORY, ann_v, id=client_id, **{"from": (T0 + timedelta(days=1)).isoformat()}))
    assert _written(dated["client"]["messages"]) == ["Hello again, question about delivery"]
    before = await execute(HISTORY, ann_v, id=client_id, to=(T0 + timedelta(days=1)).isoformat())
    assert len(_written(before["client"]["messages"])) == 3


def _written(connection) -> list[str]:
    """Texts the client and the operators wrote (system messages such as greetings left out)."""
    return [e["node"]["text"] for e in connection["edges"] if e["node"]["authorKind"] != "SYSTEM"]


async def test_a_visitor_reads_their_own_history_without_silent_notes(db):
    _, _, old, new, carla = await _returning_client()
    mine = (await execute("{ visitorChat { client { chats(first: 5) { totalCount } "
                          "messages(first: 50) { edges { node { text silent authorKind } } } } } }", carla))
    client = mine["visitorChat"]["client"]
    assert client["chats"]["totalCount"] == 2
    assert _written(client["messages"]) == ["I want a refund for my blender", "The refund is on its way",
                                            "Hello again, question about delivery"]


async def test_a_client_is_hidden_from_an_operator_who_sees_none_of_their_chats(db):
    _, _, old, _, _ = await _returning_client()
    _, stranger = await make_operator("Stranger")
    data = await execute(HISTORY, stranger, id=to_global_id("Client", old.client_id))
    assert data["client"] is None
    _, admin = await make_admin()
    assert (await execute(HISTORY, admin, id=to_global_id("Client", old.client_id)))["client"]["name"] == "Carla"


async def test_search_finds_a_word_of_an_older_conversation_ranked_and_visibility_filtered(db):
    ann_v, channel, old, new, carla = await _returning_client()
    hits = (await execute(SEARCH, ann_v, q="refund"))["searchMessages"]
    assert hits["totalCount"] == 2
    assert {e["node"]["chat"]["id"] for e in hits["edges"]} == {to_global_id("Chat", old.id)}
    # stemming (PostgreSQL english) or exact word (both): "blender" finds both blender messages
    assert (await execute(SEARCH, ann_v, q="blender"))["searchMessages"]["totalCount"] == 2
    # every word must occur
    both = (await execute(SEARCH, ann_v, q="refund blender"))["searchMessages"]
    assert [e["node"]["text"] for e in both["edges"]] == ["I want a refund for my blender"]

    # an operator outside the channel, and another client's visitor, find nothing
    _, stranger = await make_operator("Stranger")
    assert (await execute(SEARCH, stranger, q="refund"))["searchMessages"]["totalCount"] == 0
    other_channel = await make_open_channel([])
    _, other_visitor, _ = await start_chat(other_channel, "refund please", name="Dan")
    mine = (await execute(SEARCH, other_visitor, q="refund"))["searchMessages"]
    assert [e["node"]["text"] for e in mine["edges"]] == ["refund please"]


async def test_a_silent_note_is_found_by_operators_only(db):
    ann_v, _, old, _, carla = await _returning_client()
    by_operator = (await execute(SEARCH, ann_v, q="angry"))["searchMessages"]
    assert [(e["node"]["text"], e["node"]["silent"]) for e in by_operator["edges"]] == \
        [("Customer was angry about the blender", True)]
    assert (await execute(SEARCH, carla, q="angry"))["searchMessages"]["totalCount"] == 0
    assert (await execute(SEARCH, carla, q="blender"))["searchMessages"]["totalCount"] == 1


async def test_search_filters_and_pages_keep_the_rank_order(db):
    ann, ann_v = await make_operator("Ann")
    channel = await make_open_channel([ann], distribution=QueueDistribution.ALL)
    texts = ["invoice", "invoice invoice invoice overdue", "invoice again", "the invoice invoice"]
    chat_ids = []
    for text in texts:
        chat, _, _ = await start_chat(channel, text)
        chat_ids.append(chat.id)
    seen, after = [], None
    while True:
        page = (await execute(SEARCH, ann_v, q="invoice", first=1, after=after))["searchMessages"]
        seen += [e["node"]["text"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(texts) and len(seen) == 4
    assert seen[0] == "invoice invoice invoice overdue"  # the best match first
    one_chat = await execute(SEARCH, ann_v, q="invoice", filter={"chatId": to_global_id("Chat", chat_ids[2])})
    assert [e["node"]["text"] for e in one_chat["searchMessages"]["edges"]] == ["invoice again"]
    result = await execute_raw(SEARCH, ann_v, q="  !! ")
    assert result.errors[0].extensions["code"] == "INVALID_INPUT"


async def test_edited_text_is_searched_by_its_new_words(db):
    ann_v, _, old, _, _ = await _returning_client()
    note = await Message.filter(chat_id=old.id, silent=True).first()
    await Message.filter(id=note.id).update(text="Customer was delighted in the end")
    assert (await execute(SEARCH, ann_v, q="delighted"))["searchMessages"]["totalCount"] == 1
    assert (await execute(SEARCH, ann_v, q="angry"))["searchMessages"]["totalCount"] == 0
    page = await conversations.conversations(ann_v, filter=conversations.ConversationFilter(search="delighted"))
    assert [c.id for c in page.rows] == [old.id]


@given(st.text(max_size=60))
def test_any_text_reaches_sql_as_plain_words_only(text):
    words = search.words_of(text)
    assert all(re.fullmatch(r"\w+", w) for w in words) and len(words) <= search.MAX_WORDS
    for quote in ("'", '"', ";", "--", "*", ":"):
        assert all(quote not in w for w in words)


NASTY = ["'; DROP TABLE message; --", 'a" OR "1"="1', "NEAR(refund blender)", "refund* OR angry",
         "^refund", "blender:", "(", "AND", "日本語 refund", "x' || pg_sleep(1) || '"]


async def test_hostile_queries_are_searched_as_words_and_break_nothing(db):
    ann_v, *_ = await _returning_client()
    for text in NASTY:
        result = await execute_raw(SEARCH, ann_v, q=text)
        if search.words_of(text):
            assert result.errors is None, (text, result.errors)
        else:
            assert result.errors[0].extensions["code"] == "INVALID_INPUT"
    assert (await execute(SEARCH, ann_v, q="'; DROP TABLE message; --"))["searchMessages"]["totalCount"] == 0
    assert (await execute(SEARCH, ann_v, q="refund* zebra"))["searchMessages"]["totalCount"] == 0  # both must occur
    assert await Message.all().count() > 0


async def test_beyond_the_ranked_newest_matches_older_ones_follow_newest_first_and_pages_stay_stable(db, monkeypatch):
    """Only the RANKED_NEWEST newest matches are ranked (services/contact_center/search.py); the first page pins their floor, so a
    message arriving between pages neither repeats nor hides one."""
    monkeypatch.setattr(search, "RANKED_NEWEST", 3)
    ann, ann_v = await make_operator("Ann")
    channel = await make_open_channel([ann], distribution=QueueDistribution.ALL)
    texts = ["parcel parcel parcel old", "parcel one", "parcel two", "parcel parcel newer", "parcel three"]
    for text in texts:
        await start_chat(channel, text)
    first = (await execute(SEARCH, ann_v, q="parcel", first=2))["searchMessages"]
    assert first["totalCount"] == 5
    # the 3 newest ranked (the double word first), then the 2 older ones newest first: the oldest's triple word is not ranked
    seen = [e["node"]["text"] for e in first["edges"]]
    assert seen == ["parcel parcel newer", "parcel three"]
    if connections.get("default").capabilities.dialect == "postgres":
        # ts_rank scores a message alone; SQLite's bm25 weighs every message, so any new one moves every score
        await start_chat(channel, "parcel parcel parcel parcel brand new")
    after = first["pageInfo"]["endCursor"]
    while after:
        page = (await execute(SEARCH, ann_v, q="parcel", first=2, after=after))["searchMessages"]
        seen += [e["node"]["text"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == ["parcel parcel newer", "parcel three", "parcel two", "parcel one", "parcel parcel parcel old"]
    await start_chat(channel, "parcel parcel parcel parcel brand new")
    fresh = (await execute(SEARCH, ann_v, q="parcel", first=1))["searchMessages"]
    assert [e["node"]["text"] for e in fresh["edges"]] == ["parcel parcel parcel parcel brand new"]


async def test_search_counts_every_match_only_when_totalCount_is_asked_for(db, count_queries):
    ann_v, *_ = await _returning_client()
    without = "query($q: String!) { searchMessages(query: $q, first: 1) { edges { node { text } } } }"
    aliased = ("query($q: String!) { found: searchMessages(query: $q, first: 1) { ...Total edges { node { text } } } }"
               " fragment Total on MessageConnection { total: totalCount }")
    await execute(without, ann_v, q="warm")  # the first search on a connection checks the index
    with count_queries() as bare:
        rows = (await execute(without, ann_v, q="refund"))["searchMessages"]["edges"]
    with count_queries() as counted:
        data = (await execute(aliased, ann_v, q="refund"))["found"]
    assert len(rows) == 1 and data["edges"] == rows
    assert data["total"] == 2  # "refund" is in the visitor's first message and in Ann's reply
    assert counted.count == bare.count + 1  # the count of every match, only when asked for


async def test_the_chats_of_the_results_are_read_with_them(db, count_queries):
    """`chat { ... }` of each result costs no statement of its own: the page's statement reads the chats."""
    ann_v, _, old, new, _ = await _returning_client()
    texts = "query($q: String!) { searchMessages(query: $q, first: 10) { edges { node { text } } } }"
    with_chats = ("query($q: String!) { searchMessages(query: $q, first: 10) "
                  "{ edges { node { text chat { id title status } } } } }")
    await execute(texts, ann_v, q="warm")  # the first search on a connection checks the index
    with count_queries() as bare:
        plain = (await execute(texts, ann_v, q="refund"))["searchMessages"]["edges"]
    with count_queries() as joined:
        found = (await execute(with_chats, ann_v, q="refund"))["searchMessages"]["edges"]
    assert [e["node"]["text"] for e in found] == [e["node"]["text"] for e in plain] and len(found) == 2
    assert {e["node"]["chat"]["id"] for e in found} == {to_global_id("Chat", old.id)}
    assert {(e["node"]["chat"]["title"], e["node"]["chat"]["status"]) for e in found} == {(old.title, "CLOSED")}
    assert joined.count == bare.count
