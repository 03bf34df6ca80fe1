"""A queue's length is the number of its waiting chats the viewer may see, counted by the database."""
from __future__ import annotations

from models import QueueDistribution
from services.chats import chats
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

QUEUES = "{ openChannels { id name queueLength queuedChats { id } } }"


async def _two_queues():
    """Channel A (the operator's queue): 3 waiting chats and 1 answered; channel B (a colleague's): 2 waiting."""
    operator, me = await make_operator()
    colleague, _ = await make_operator()
    mine = await make_open_channel([operator], distribution=QueueDistribution.ALL)
    theirs = await make_open_channel([colleague], distribution=QueueDistribution.ALL)
    for i in range(3):
        await start_chat(mine, name=f"Waiting {i}")
    answered, _, _ = await start_chat(mine, name="Answered")
    await chats.answer_chat(me, chat_id=answered.id)
    for i in range(2):
        await start_chat(theirs, name=f"Theirs {i}")
    return me, mine, theirs


async def test_the_length_is_the_queue_each_viewer_sees(db):
    me, mine, theirs = await _two_queues()
    _, admin = await make_admin()
    seen = {viewer: (await execute(QUEUES, viewer))["openChannels"] for viewer in (admin, me)}
    for viewer, channels in seen.items():
        for channel in channels:
            assert channel["queueLength"] == len(channel["queuedChats"]), (viewer, channel)
    lengths = {viewer: {c["name"]: c["queueLength"] for c in channels} for viewer, channels in seen.items()}
    assert lengths[admin] == {mine.name: 3, theirs.name: 2}  # the answered chat waits no longer
    assert lengths[me].get(mine.name) == 3


async def test_the_length_is_counted_without_reading_the_chats(db, count_queries):
    me, mine, _ = await _two_queues()
    with count_queries() as counter:
        data = await execute("{ openChannels { name queueLength } }", me)
    assert {c["name"]: c["queueLength"] for c in data["openChannels"]}.get(mine.name) == 3
    on_chats = [sql for sql in counter.statements if 'FROM "chat"' in sql]
    assert on_chats and all("COUNT(" in sql.upper() for sql in on_chats), on_chats
