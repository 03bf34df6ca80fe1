"""A chat's history with everything hanging off its messages loads in a fixed number of statements."""
from __future__ import annotations

from infrastructure.platform import Platform
from services.messaging import files
from services.messaging import messages
from tests.graphql.helpers import execute
from tests.messaging.worlds import answered_chat

HISTORY = """query($c: ID!) { chat(id: $c) { messages(first: 100) { edges { node {
  id text html author { name } attachments { name url } mentions { name }
  replyTo { id text author { name } } quotedMessage { text author { name } } } } } } }"""


async def _history_with(n: int, platform: Platform):
    w = await answered_chat()
    previous = None
    for i in range(n):
        upload = await files.upload_file(w.me, platform.files, chat_id=w.chat.id, name=f"{i}.txt", data=b"note")
        previous = await messages.send_message(
            w.me, chat_id=w.chat.id, text=f"@Carl Colleague step {i} :)", attachment_ids=[upload.id],
            mention_operator_ids=[w.colleague.id], reply_to_message_id=previous.id if previous else None,
            quote_message_id=previous.id if previous else None)
    return w


async def test_history_statements_do_not_grow_with_messages(db, count_queries, platform):
    small_world = await _history_with(2, platform)
    with count_queries() as counter:
        small = await execute(HISTORY, small_world.me, platform=platform, c=small_world.chat_gid)
    large_world = await _history_with(10, platform)
    with count_queries() as large_counter:
        large = await execute(HISTORY, large_world.me, platform=platform, c=large_world.chat_gid)
    edges = large["chat"]["messages"]["edges"]
    assert len(edges) == 11 and edges[-1]["node"]["replyTo"]["text"] == "@Carl Colleague step 8 :)"
    assert edges[-1]["node"]["html"].endswith("step 9 🙂")
    assert len(small["chat"]["messages"]["edges"]) == 3
    assert large_counter.count == counter.count, f"{counter.count} statements for 3 messages, {large_counter.count} for 11"
