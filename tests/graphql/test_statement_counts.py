"""Lists load their relations in batches: the SQL statements of a query do not grow with its rows."""
from __future__ import annotations

from models import QueueDistribution
from services.chats import chats
from services.messaging import messages
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

CHAT_FIELDS = """
  id number title status pinned waitingFirstResponse unreadCount createdAt
  client { id name email }
  operator { id name activeChatsCount }
  openChannel { id name operators { id name } }
  offeredTo { id name }
  participants { id name status }
  lastMessage { id text html author { name } }
"""

MY_CHATS = f"""{{ myChats {{
  offered {{ {CHAT_FIELDS} }}
  waitingFirstResponse {{ {CHAT_FIELDS} }}
  active {{ {CHAT_FIELDS} }}
  internal {{ id }}
}} }}"""

OPEN_CHANNELS = f"""{{ openChannels {{
  id name queueLength
  operators {{ id name activeChatsCount openChannels {{ id name }} }}
  queuedChats {{ {CHAT_FIELDS} }}
}} }}"""


async def _world(n_chats: int):
    """One operator with `n_chats` offered chats, `n_chats` answered ones (half replied to)."""
    operator, me = await make_operator()
    colleague, _ = await make_operator()
    channel = await make_open_channel([operator, colleague], distribution=QueueDistribution.ALL)
    for i in range(n_chats):
        await start_chat(channel, name=f"Waiting {i}")
        chat, visitor, _ = await start_chat(channel, name=f"Answered {i}")
        await chats.answer_chat(me, chat_id=chat.id)
        if i % 2:
            await messages.send_message(me, chat_id=chat.id, text=f"reply {i}")
        await messages.send_visitor_message(visitor, text="thanks")
    return me


async def _statements(count_queries, query: str, viewer) -> tuple[int, dict]:
    with count_queries() as counter:
        data = await execute(query, viewer)
    return counter.count, data


async def test_my_chats_statements_do_not_grow_with_rows(db, count_queries):
    me_small = await _world(2)
    small, data_small = await _statements(count_queries, MY_CHATS, me_small)
    assert len(data_small["myChats"]["offered"]) == 2
    assert len(data_small["myChats"]["waitingFirstResponse"]) == 1

    me_large = await _world(12)
    large, data_large = await _statements(count_queries, MY_CHATS, me_large)
    assert len(data_large["myChats"]["offered"]) == 12
    assert len(data_large["myChats"]["waitingFirstResponse"]) + len(data_large["myChats"]["active"]) == 12
    assert data_large["myChats"]["offered"][0]["client"]["name"].startswith("Waiting")
    assert data_large["myChats"]["active"][0]["lastMessage"]["text"] == "thanks"
    assert large == small, f"{small} statements for 2 chats per group, {large} for 12"


async def test_open_channels_statements_do_not_grow_with_rows(db, count_queries):
    _, admin = await make_admin()
    await _world(2)
    small, data_small = await _statements(count_queries, OPEN_CHANNELS, admin)
    await _world(10)
    large, data_large = await _statements(count_queries, OPEN_CHANNELS, admin)
    queued = sum(len(c["queuedChats"]) for c in data_large["openChannels"])
    assert queued == 12 and sum(c["queueLength"] for c in data_large["openChannels"]) == 12
    assert len(data_large["openChannels"]) == 2 * len(data_small["openChannels"])
    assert large == small, f"{small} statements for the small world, {large} for the large one"
