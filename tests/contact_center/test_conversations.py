"""Contact center > Conversations through the API: keyset pages across inserts, every filter,
the page-size limit, visibility, statement counts, and startConversation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from models import Chat, ChatStatus, Client, Message, QueueDistribution
from resolvers.ids import to_global_id
from services.chats import chats
from services.contact_center import crm
from services.messaging import messages
from services.identity.viewer import ANONYMOUS
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute, execute_raw

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=timezone.utc)

LIST = """query($filter: ConversationFilter, $order: ConversationOrder, $first: Int, $after: String,
                $last: Int, $before: String) {
  conversations(filter: $filter, orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id title status } }
  }
}"""


def gid(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


async def _chat_at(channel, name: str, minutes: int, *, activity_minutes: int | None = None) -> Chat:
    """A visitor's chat created at T0 + minutes (last activity at T0 + activity_minutes)."""
    chat, _, _ = await start_chat(channel, name=name)
    at = T0 + timedelta(minutes=minutes)
    activity = T0 + timedelta(minutes=activity_minutes) if activity_minutes is not None else at
    await Chat.filter(id=chat.id).update(created_at=at, last_activity_at=activity)
    return await Chat.get(id=chat.id)


async def _titles(viewer, **variables) -> tuple[list[str], dict]:
    data = (await execute(LIST, viewer, **variables))["conversations"]
    return [e["node"]["title"] for e in data["edges"]], data


async def _walk(viewer, order: str, size: int, **variables) -> list[str]:
    seen, after = [], None
    while True:
        titles, data = await _titles(viewer, order=order, first=size, after=after, **variables)
        seen += titles
        if not data["pageInfo"]["hasNextPage"]:
            return seen
        after = data["pageInfo"]["endCursor"]


async def test_pages_in_each_order_stay_correct_when_rows_are_inserted_between_pages(db):
    _, admin = await make_admin()
    channel = await make_open_channel([])
    for i in range(5):  # c0 oldest ... c4 newest, activity in the reverse order
        await _chat_at(channel, f"c{i}", i, activity_minutes=100 - i)

    titles, page1 = await _titles(admin, order="NEWEST", first=2)
    assert titles == ["c4", "c3"] and page1["totalCount"] == 5
    assert page1["pageInfo"]["hasNextPage"] and not page1["pageInfo"]["hasPreviousPage"]
    # two newer conversations arrive, and one older than the cursor (same created_at as c2, higher id)
    await _chat_at(channel, "new1", 10)
    await _chat_at(channel, "new2", 11)
    await _chat_at(channel, "tie2", 2)
    titles, page2 = await _titles(admin, order="NEWEST", first=3, after=page1["pageInfo"]["endCursor"])
    assert titles == ["tie2", "c2", "c1"], "no repeat of c3, no skip after an insert"
    assert page2["totalCount"] == 8 and page2["pageInfo"]["hasPreviousPage"]
    titles, page3 = await _titles(admin, order="NEWEST", first=3, after=page2["pageInfo"]["endCursor"])
    assert titles == ["c0"] and not page3["pageInfo"]["hasNextPage"]
    # and backwards from the end
    titles, back = await _titles(admin, order="NEWEST", last=2, before=page3["pageInfo"]["startCursor"])
    assert titles == ["c2", "c1"] and back["pageInfo"]["hasPreviousPage"] and back["pageInfo"]["hasNextPage"]

    assert await _walk(admin, "OLDEST", 3) == ["c0", "c1", "c2", "tie2", "c3", "c4", "new1", "new2"]
    assert await _walk(admin, "LAST_ACTIVITY", 3) == ["c0", "c1", "c2", "c3", "c4", "new2", "new1", "tie2"]
    assert await _walk(admin, "NEWEST", 100) == ["new2", "new1", "c4", "c3", "tie2", "c2", "c1", "c0"]


async def test_a_cursor_of_another_order_is_refused(db):
    _, admin = await make_admin()
    channel = await make_open_channel([])
    for i in range(3):
        await _chat_at(channel, f"c{i}", i)
    _, page = await _titles(admin, order="NEWEST", first=1)
    result = await execute_raw(LIST, admin, order="OLDEST", first=1, after=page["pageInfo"]["endCursor"])
    assert result.errors[0].extensions["code"] == "INVALID_INPUT"


async def test_page_size_above_100_is_a_clear_error(db):
    _, admin = await make_admin()
    for variables in ({"first": 101}, {"last": 101}, {"first": -1}):
        result = await execute_raw(LIST, admin, **variables)
        assert result.data is None
        assert result.errors[0].extensions["code"] == "INVALID_INPUT"
        assert "100" in result.errors[0].message
    ok = await execute(LIST, admin, first=100)
    assert ok["conversations"]["totalCount"] == 0


async def _filter_world():
    ann, ann_v = await make_operator("Ann")
    bob, bob_v = await make_operator("Bob")
    _, admin = await make_admin()
    sales = await make_open_channel([ann, bob], distribution=QueueDistribution.STRICT, name="Sales")
    support = await make_open_channel([bob], distribution=QueueDistribution.STRICT, name="Support")
    queued = await _chat_at(sales, "queued-sales", 0)            # QUEUED, offered to Ann
    await chats.skip_chat(ann_v, chat_id=queued.id)                 # now offered to Bob
    waiting = await _chat_at(sales, "waiting-ann", 1)               # ACTIVE with Ann, no reply
    await chats.answer_chat(ann_v, chat_id=waiting.id)
    replied = await _chat_at(sales, "replied-ann", 2)               # ACTIVE with Ann, replied, pinned
    await chats.answer_chat(ann_v, chat_id=replied.id)
    await messages.send_message(ann_v, chat_id=replied.id, text="Your parcel left the warehouse")
    await chats.pin_chat(ann_v, chat_id=replied.id, pinned=True)
    closed = await _chat_at(support, "closed-bob", 3)               # CLOSED with Bob
    await chats.answer_chat(bob_v, chat_id=closed.id)
    await messages.send_message(bob_v, chat_id=closed.id, text="Restart the router please")
    await chats.finish_chat(bob_v, chat_id=closed.id)
    spam = await _chat_at(support, "spam", 4)                       # SPAM
    await chats.mark_chat_spam(bob_v, chat_id=spam.id)
    return {"ann": ann, "bob": bob, "admin": admin, "sales": sales, "support": support, "ann_v": ann_v,
            "bob_v": bob_v, "chats": {c.title: c for c in (queued, waiting, replied, closed, spam)}}


async def test_every_filter_alone_and_combined(db):
    w = await _filter_world()
    admin, c = w["admin"], w["chats"]

    async def titles(**f) -> list[str]:
        return sorted((await _titles(admin, filter=f, first=100))[0])

    assert await titles(statuses=["QUEUED"]) == ["queued-sales"]
    assert await titles(statuses=["CLOSED", "SPAM"]) == ["closed-bob", "spam"]
    assert await titles(openChannelIds=[gid("OpenChannel", w["support"].id)]) == ["closed-bob", "spam"]
    assert await titles(operatorIds=[gid("Operator", w["ann"].id)]) == ["replied-ann", "waiting-ann"]
    assert await titles(clientId=gid("Client", c["spam"].client_id)) == ["spam"]
    assert await titles(**{"from": (T0 + timedelta(minutes=1)).isoformat(),
                           "to": (T0 + timedelta(minutes=3)).isoformat()}) == ["replied-ann", "waiting-ann"]
    assert await titles(pinned=True) == ["replied-ann"]
    assert await titles(waitingFirstResponse=False) == ["closed-bob", "replied-ann"]
    assert await titles(search="warehouse") == ["replied-ann"]
    assert await titles(search="closed-bob") == ["closed-bob"]  # by title / client name
    # combined: AND across fields
    assert await titles(statuses=["ACTIVE"], waitingFirstResponse=True) == ["waiting-ann"]
    assert await titles(openChannelIds=[gid("OpenChannel", w["sales"].id)], statuses=["ACTIVE", "QUEUED"],
                        pinned=False) == ["queued-sales", "waiting-ann"]
    assert await titles(operatorIds=[gid("Operator", w["bob"].id)], search="router",
                        **{"from": T0.isoformat()}) == ["closed-bob"]
    assert await titles(operatorIds=[gid("Operator", w["bob"].id)], search="warehouse") == []
    total = (await _titles(admin, filter={"statuses": ["ACTIVE"]}, first=1))[1]["totalCount"]
    assert total == 2


async def test_an_operator_sees_only_the_conversations_of_their_queues(db):
    w = await _filter_world()
    ann_sees = sorted((await _titles(w["ann_v"], first=100))[0])
    assert ann_sees == ["queued-sales", "replied-ann", "waiting-ann"]
    _, outsider = await make_operator("Out")
    assert (await _titles(outsider, first=100))[1]["totalCount"] == 0
    result = await execute_raw(LIST, ANONYMOUS, first=1)
    assert result.errors[0].extensions["code"] == "UNAUTHENTICATED"


PAGE_WITH_RELATIONS = """query($first: Int) { conversations(first: $first, orderBy: LAST_ACTIVITY) {
  totalCount
  edges { cursor node {
    id title status unreadCount waitingFirstResponse
    client { id name email crmContact { id name company { title } } crmCompany { title } crmDeal { title }
             crmLead { title } }
    operator { id name }
    openChannel { id name }
    lastMessage { id text author { id name } }
  } }
} }"""


async def test_statements_for_one_page_do_not_grow_with_the_page_size(db, count_queries):
    operator, me = await make_operator()
    channel = await make_open_channel([operator], distribution=QueueDistribution.ALL)
    for i in range(12):
        chat, visitor, _ = await start_chat(channel, name=f"Client {i}")
        await chats.answer_chat(me, chat_id=chat.id)
        await messages.send_message(me, chat_id=chat.id, text=f"answer {i}")
        if i % 3 == 2:  # some clients are in the CRM (the newest among them)
            await Client.filter(id=chat.client_id).update(email=f"client{i}@example.com")
            await crm.save_chat_to_crm(me, chat_id=chat.id)
    with count_queries() as small:
        data_small = await execute(PAGE_WITH_RELATIONS, me, first=2)
    with count_queries() as large:
        data_large = await execute(PAGE_WITH_RELATIONS, me, first=12)
    assert len(data_small["conversations"]["edges"]) == 2 and len(data_large["conversations"]["edges"]) == 12
    node = data_large["conversations"]["edges"][0]["node"]
    assert node["client"]["name"] == "Client 11" and node["lastMessage"]["text"] == "answer 11"
    assert node["operator"]["id"] == gid("Operator", operator.id)
    assert sum(1 for e in data_large["conversations"]["edges"] if e["node"]["client"]["crmLead"]) == 4
    assert large.count == small.count, f"{small.count} statements for 2 rows, {large.count} for 12"


START = """mutation($input: StartConversationInput!) { startConversation(input: $input) {
  chat { id status title operator { id } waitingFirstResponse client { id } lastMessage { text } }
  userErrors { code field }
} }"""


async def test_start_conversation_opens_an_active_chat_with_the_caller_responsible(db):
    ann, ann_v = await make_operator("Ann")
    channel = await make_open_channel([ann], distribution=QueueDistribution.STRICT)
    other_channel = await make_open_channel([])
    first, _, _ = await start_chat(channel, name="Carla")
    await chats.answer_chat(ann_v, chat_id=first.id)
    await chats.finish_chat(ann_v, chat_id=first.id)
    client_id = gid("Client", first.client_id)

    data = await execute(START, ann_v, input={"clientId": client_id, "openChannelId": gid("OpenChannel", channel.id),
                                              "text": "Hello Carla, your order is ready"})
    started = data["startConversation"]
    assert started["userErrors"] == []
    assert started["chat"]["status"] == "ACTIVE" and started["chat"]["title"] == "Carla"
    assert started["chat"]["operator"]["id"] == gid("Operator", ann.id)
    assert started["chat"]["client"]["id"] == client_id
    assert started["chat"]["waitingFirstResponse"] is False
    assert started["chat"]["lastMessage"]["text"] == "Hello Carla, your order is ready"
    assert await Message.filter(chat__client_id=first.client_id, author_kind__in=["CLIENT", "OPERATOR"]).count() == 2

    refused = await execute(START, ann_v, input={"clientId": client_id,
                                                 "openChannelId": gid("OpenChannel", other_channel.id)})
    assert refused["startConversation"]["userErrors"][0]["code"] == "FORBIDDEN"
    _, stranger = await make_operator("Stranger")
    unknown = await execute(START, stranger, input={"clientId": client_id,
                                                    "openChannelId": gid("OpenChannel", channel.id)})
    assert unknown["startConversation"]["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "clientId"]}]
    assert await Chat.filter(client_id=first.client_id, status=ChatStatus.ACTIVE).count() == 1


async def test_the_total_is_counted_only_when_totalCount_is_selected(db, count_queries):
    operator, me = await make_operator()
    channel = await make_open_channel([operator], distribution=QueueDistribution.ALL)
    for i in range(3):
        await start_chat(channel, name=f"Client {i}")
    bare = "query { conversations(first: 2) { edges { node { id } } } }"
    aliased = "query { list: conversations(first: 2) { ... on ChatConnection { n: totalCount } edges { node { id } } } }"
    with count_queries() as without:
        rows = (await execute(bare, me))["conversations"]["edges"]
    with count_queries() as counted:
        data = (await execute(aliased, me))["list"]
    assert len(rows) == 2 and data["edges"] == rows and data["n"] == 3
    assert counted.count == without.count + 1  # the count of every visible conversation, only when asked for


async def test_cursors_are_made_for_the_selection_that_reads_them(db):
    """Cursors are made only when the selection reads one (resolvers/prefetch.wants_cursors):
    pageInfo's endCursor alone, or an edge's cursor inside a fragment, still pages on."""
    _, admin = await make_admin()
    channel = await make_open_channel([])
    for i in range(3):
        await _chat_at(channel, f"c{i}", i)
    only_end = "query($after: String) { conversations(first: 2, after: $after) { pageInfo { endCursor } " \
               "edges { node { title } } } }"
    first = (await execute(only_end, admin))["conversations"]
    assert [e["node"]["title"] for e in first["edges"]] == ["c2", "c1"] and first["pageInfo"]["endCursor"]
    rest = (await execute(only_end, admin, after=first["pageInfo"]["endCursor"]))["conversations"]
    assert [e["node"]["title"] for e in rest["edges"]] == ["c0"]
    in_fragment = "{ conversations(first: 1) { ...E } } fragment E on ChatConnection { edges { cursor } }"
    cursor = (await execute(in_fragment, admin))["conversations"]["edges"][0]["cursor"]
    after = (await execute(only_end, admin, after=cursor))["conversations"]
    assert [e["node"]["title"] for e in after["edges"]] == ["c1", "c0"]
    bare = (await execute("{ conversations(first: 2) { edges { node { title } } } }", admin))["conversations"]
    assert [e["node"]["title"] for e in bare["edges"]] == ["c2", "c1"]
