"""`Chat.timeline`: the audit trail of a chat, oldest first, with the actor and the chat's state on
every entry; the transfer comment operator-side; a visitor gets none."""
from __future__ import annotations

from models import OperatorRole, QueueDistribution
from resolvers.ids import to_global_id
from services.chats import chats
from services.messaging import messages
from tests.factories import make_operator, queued_chat
from tests.graphql.helpers import execute

COMMENT = "VIP client: offer the express refund"
NOTE = "internal: check the refund policy"

TIMELINE = """query($id: ID!, $after: String, $first: Int) { chat(id: $id) { timeline(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { eventId kind occurredAt detail actor { id name }
                        state { status pinned operator { id } } message { text silent } } } } } }"""


def op_id(viewer) -> str:
    return to_global_id("Operator", viewer.operator_id)


async def test_the_timeline_of_a_chat_queued_offered_skipped_answered_transferred_intercepted_pinned_finished(db):
    channel, cast, chat, visitor = await queued_chat(QueueDistribution.STRICT, members=3)
    (_, a), (_, b), (_, c) = cast
    _, supervisor = await make_operator("Sue", role=OperatorRole.SUPERVISOR)
    await chats.skip_chat(a, chat_id=chat.id)  # offered to A first (queue order), then to B
    await chats.answer_chat(b, chat_id=chat.id)
    await chats.transfer_chat(b, chat_id=chat.id, operator_id=c.operator_id, comment=COMMENT)
    await chats.answer_chat(c, chat_id=chat.id)
    await messages.send_message(c, chat_id=chat.id, text=NOTE, silent=True)
    await chats.intercept_chat(supervisor, chat_id=chat.id)
    await chats.pin_chat(supervisor, chat_id=chat.id, pinned=True)
    await chats.finish_chat(supervisor, chat_id=chat.id)
    chat_gid = to_global_id("Chat", chat.id)

    timeline = (await execute(TIMELINE, supervisor, id=chat_gid, first=100))["chat"]["timeline"]

    nodes = [edge["node"] for edge in timeline["edges"]]
    assert timeline["totalCount"] == len(nodes) and not timeline["pageInfo"]["hasNextPage"]
    assert [int(n["eventId"]) for n in nodes] == sorted(int(n["eventId"]) for n in nodes)  # oldest first
    assert [n["occurredAt"] for n in nodes] == sorted(n["occurredAt"] for n in nodes)
    changes = [(n["kind"], (n["actor"] or {}).get("id"), n["state"]["status"], (n["state"]["operator"] or {}).get("id"),
                n["state"]["pinned"], n["detail"]) for n in nodes if not n["kind"].startswith("MESSAGE_")]
    assert changes == [
        ("CHAT_QUEUED", None, "QUEUED", None, False, None),  # the visitor: no actor
        ("CHAT_OFFERED", None, "QUEUED", None, False, None),  # to A, by the queue
        ("CHAT_SKIPPED", op_id(a), "QUEUED", None, False, None),
        ("CHAT_OFFERED", op_id(a), "QUEUED", None, False, None),  # to B, caused by A's skip
        ("CHAT_ANSWERED", op_id(b), "ACTIVE", op_id(b), False, None),
        ("CHAT_TRANSFERRED", op_id(b), "QUEUED", None, False, COMMENT),
        ("CHAT_OFFERED", op_id(b), "QUEUED", None, False, None),  # to C, with the transfer
        ("CHAT_ANSWERED", op_id(c), "ACTIVE", op_id(c), False, None),
        ("CHAT_INTERCEPTED", op_id(supervisor), "ACTIVE", op_id(supervisor), False, None),
        ("CHAT_PINNED", op_id(supervisor), "ACTIVE", op_id(supervisor), True, None),
        ("CHAT_FINISHED", op_id(supervisor), "CLOSED", op_id(supervisor), True, None),
    ]
    said = [(n["message"]["text"], n["message"]["silent"], (n["actor"] or {}).get("id")) for n in nodes
            if n["kind"] == "MESSAGE_ADDED" and n["message"]]
    assert said[:2] == [("Hello, I need help", False, None), (NOTE, True, op_id(c))]

    # pages: the same entries, oldest first
    first_page = (await execute(TIMELINE, supervisor, id=chat_gid, first=3))["chat"]["timeline"]
    rest = (await execute(TIMELINE, supervisor, id=chat_gid, first=100,
                          after=first_page["pageInfo"]["endCursor"]))["chat"]["timeline"]
    assert first_page["pageInfo"]["hasNextPage"] and first_page["totalCount"] == len(nodes)
    assert [e["node"]["eventId"] for e in first_page["edges"] + rest["edges"]] == [n["eventId"] for n in nodes]

    # an operator of the chat's queue reads it too, with the comment; the visitor reads the chat but no timeline
    of_a = (await execute(TIMELINE, a, id=chat_gid, first=100))["chat"]["timeline"]
    assert COMMENT in [e["node"]["detail"] for e in of_a["edges"]]
    of_visitor = (await execute(TIMELINE, visitor, id=chat_gid, first=100))["chat"]
    assert of_visitor["timeline"] == {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None},
                                      "edges": []}
    # an operator of another channel: no chat at all
    _, stranger = await make_operator("Stranger")
    assert (await execute(TIMELINE, stranger, id=chat_gid, first=100))["chat"] is None


async def test_the_timeline_details_a_renames_old_title_and_the_rule_that_acted(db, clock):
    from models import NoAnswerRule
    from services.automation import scheduler
    from services.chats import open_channels
    from tests.factories import make_admin, make_open_channel, start_chat

    operator, op = await make_operator("Olga")
    _, admin = await make_admin()
    channel = await make_open_channel([operator], answer_timeout_seconds=3600)
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, no_answer_rule=NoAnswerRule.KEEP_WAITING,
                                            no_answer_timeout_seconds=60)
    chat, visitor, _ = await start_chat(channel, "Where is my parcel?")
    assert chat is not None
    old_title = chat.title
    await chats.rename_chat(op, chat_id=chat.id, title="Parcel 7 lost")
    clock.advance(60)
    assert await scheduler.tick() == 1  # the no-answer rule fires, once

    nodes = [e["node"] for e in (await execute(TIMELINE, admin, id=to_global_id("Chat", chat.id), first=100))
             ["chat"]["timeline"]["edges"]]

    assert {"CHAT_RENAMED", "CHAT_NO_ANSWER"} <= {n["kind"] for n in nodes}, [n["kind"] for n in nodes]
    renamed = next(n for n in nodes if n["kind"] == "CHAT_RENAMED")
    assert old_title != "Parcel 7 lost" and renamed["detail"] == old_title
    assert renamed["actor"]["id"] == op_id(op)
    no_answer = next(n for n in nodes if n["kind"] == "CHAT_NO_ANSWER")
    assert no_answer["detail"] == "KEEP_WAITING" and no_answer["actor"] is None
    assert no_answer["state"]["status"] == "QUEUED"
