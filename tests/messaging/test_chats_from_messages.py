"""A colleague chat to discuss a message, and a new conversation started from one."""
from __future__ import annotations

from models import Chat, ChatStatus, Event, Message
from services.messaging import messages
from tests.graphql.helpers import execute
from tests.messaging.worlds import answered_chat, gid

DISCUSS = """mutation($m: ID!, $o: [ID!]) { discussMessageInChat(input: {messageId: $m, operatorIds: $o}) {
  chat { id kind status title parentChat { id } participants { name }
         messages { edges { node { text silent quotedMessage { text author { name } } } } } }
  userErrors { code field } } }"""
START = """mutation($m: ID!) { startConversationFromMessage(input: {messageId: $m}) {
  chat { id number kind status client { name } openChannel { id } operator { name } parentChat { id }
         messages { edges { node { silent quotedMessage { text } } } } }
  userErrors { code field } } }"""


async def test_discuss_opens_an_internal_chat_quoting_the_message(db):
    w = await answered_chat()
    source = await Message.filter(chat_id=w.chat.id).first()
    data = await execute(DISCUSS, w.me, m=gid("Message", source.id), o=[gid("Operator", w.outsider.id)])
    chat = data["discussMessageInChat"]["chat"]
    assert data["discussMessageInChat"]["userErrors"] == []
    assert (chat["kind"], chat["status"], chat["parentChat"]) == ("INTERNAL", "ACTIVE", {"id": w.chat_gid})
    assert sorted(p["name"] for p in chat["participants"]) == ["Olga Operator", "Otto Outsider"]
    first = chat["messages"]["edges"][0]["node"]
    assert first["quotedMessage"] == {"text": "Hello, I need help", "author": None}
    # it is in both operators' sidebars, and the visitor never hears of it
    for viewer in (w.me, w.outsider_viewer):
        internal = (await execute("{ myChats { internal { id } } }", viewer))["myChats"]["internal"]
        assert internal == [{"id": chat["id"]}]
    internal_id = int((await Chat.filter(kind="INTERNAL").first()).id)
    assert all(not e.visitor_visible for e in await Event.filter(chat_id=internal_id))
    assert await execute("{ visitorChat { id } }", w.visitor) == {"visitorChat": {"id": w.chat_gid}}
    # someone outside the source chat cannot discuss it
    refused = await execute(DISCUSS, w.outsider_viewer, m=gid("Message", source.id), o=[])
    assert refused["discussMessageInChat"]["userErrors"] == [{"code": "NOT_FOUND", "field": ["input", "messageId"]}]


async def test_start_conversation_from_message(db):
    w = await answered_chat("Ann Client")
    source = await messages.send_visitor_message(w.visitor, text="Also, a second question about billing")
    data = await execute(START, w.colleague_viewer, m=gid("Message", source.id))
    chat = data["startConversationFromMessage"]["chat"]
    assert data["startConversationFromMessage"]["userErrors"] == []
    assert chat["kind"] == "CUSTOMER" and chat["status"] == "ACTIVE" and chat["client"] == {"name": "Ann Client"}
    assert chat["openChannel"] == {"id": gid("OpenChannel", w.channel.id)}
    assert chat["operator"] == {"name": "Carl Colleague"} and chat["parentChat"] == {"id": w.chat_gid}
    assert chat["number"] != (await execute("query($c: ID!) { chat(id: $c) { number } }", w.me,
                                            c=w.chat_gid))["chat"]["number"]
    assert chat["messages"]["edges"] == [{"node": {"silent": True, "quotedMessage": {
        "text": "Also, a second question about billing"}}}]
    new_id = (await Chat.filter(parent_chat_id=w.chat.id, kind="CUSTOMER").first()).id
    # the visitor's next message goes to the new conversation; the note stays hidden from them
    reply = await messages.send_visitor_message(w.visitor, text="thanks")
    assert reply.chat_id == new_id
    history = (await execute("{ visitorChat { messages { edges { node { text } } } } }", w.visitor))["visitorChat"]
    assert [e["node"]["text"] for e in history["messages"]["edges"]] == ["thanks"]
    assert (await Chat.get(id=w.chat.id)).status == ChatStatus.ACTIVE
    refused = await execute(START, w.outsider_viewer, m=gid("Message", source.id))
    assert refused["startConversationFromMessage"]["userErrors"][0]["code"] == "NOT_FOUND"
