"""Edit and delete your own message, replies, quotes, mentions and marking unread, through the API."""
from __future__ import annotations

from models import Event, Message
from services.messaging import messages
from tests.graphql.helpers import execute
from tests.messaging.worlds import answered_chat, gid

SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  message { id text html replyTo { id text } quotedMessage { id text author { name } deleted editedAt }
            mentions { id name } }
  userErrors { code field } } }"""
EDIT = """mutation($m: ID!, $t: String!) { editMessage(input: {messageId: $m, text: $t}) {
  message { id text html editedAt deleted } userErrors { code field } } }"""
DELETE = """mutation($m: ID!) { deleteMessage(input: {messageId: $m}) {
  message { id text html deleted attachments { id } } userErrors { code field } } }"""
VISITOR_HISTORY = "{ visitorChat { messages { edges { node { id text deleted editedAt quotedMessage { text } } } } } }"


async def _events_of(message_id: int) -> list[Event]:
    return list(await Event.filter(message_id=message_id).order_by("id"))


async def test_author_edits_a_message_and_everyone_is_told(db):
    w = await answered_chat()
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="Helo")
    data = await execute(EDIT, w.me, m=gid("Message", sent.id), t="Hello [b]there[/b]")
    edited = data["editMessage"]["message"]
    assert data["editMessage"]["userErrors"] == []
    assert edited["text"] == "Hello [b]there[/b]" and edited["html"] == "Hello <strong>there</strong>"
    assert edited["editedAt"] is not None and edited["deleted"] is False
    event = (await _events_of(sent.id))[-1]
    assert (event.kind, event.chat_kind, event.visitor_visible) == ("MESSAGE_EDITED", "MESSAGE_EDITED", True)
    assert w.operator.id in event.operator_ids
    history = await execute(VISITOR_HISTORY, w.visitor)
    assert history["visitorChat"]["messages"]["edges"][-1]["node"]["text"] == "Hello [b]there[/b]"


async def test_editing_or_deleting_someone_elses_message_is_forbidden_and_changes_nothing(db, platform):
    w = await answered_chat()
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="Mine")
    client_message = await Message.filter(chat_id=w.chat.id, author_kind="CLIENT").first()
    for target in (sent.id, client_message.id):
        for query, variables in ((EDIT, {"t": "hacked"}), (DELETE, {})):
            data = await execute(query, w.colleague_viewer if target == sent.id else w.me, platform=platform,
                                 m=gid("Message", target), **variables)
            assert list(data.values())[0] == {"message": None,
                                              "userErrors": [{"code": "FORBIDDEN", "field": ["input", "messageId"]}]}
    assert (await Message.get(id=sent.id)).text == "Mine"
    assert not (await Message.get(id=client_message.id)).deleted
    # an operator who may not see the chat does not learn the message exists
    data = await execute(EDIT, w.outsider_viewer, m=gid("Message", sent.id), t="x")
    assert data["editMessage"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_deleted_message_stays_as_deleted_without_text_and_the_visitor_sees_that(db, platform):
    w = await answered_chat()
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="Oops, wrong chat")
    data = await execute(DELETE, w.me, platform=platform, m=gid("Message", sent.id))
    assert data["deleteMessage"]["message"] == {"id": gid("Message", sent.id), "text": "", "html": "",
                                                "deleted": True, "attachments": []}
    event = (await _events_of(sent.id))[-1]
    assert (event.kind, event.visitor_visible) == ("MESSAGE_DELETED", True)
    node = (await execute(VISITOR_HISTORY, w.visitor))["visitorChat"]["messages"]["edges"][-1]["node"]
    assert node["deleted"] is True and node["text"] == ""
    again = await execute(EDIT, w.me, m=gid("Message", sent.id), t="back")
    assert again["editMessage"]["userErrors"][0]["code"] == "INVALID_STATE"


async def test_silent_note_changes_never_reach_the_visitor(db, platform):
    w = await answered_chat()
    note = await messages.send_message(w.me, chat_id=w.chat.id, text="client seems upset", silent=True)
    await execute(EDIT, w.me, m=gid("Message", note.id), t="client is upset")
    await execute(DELETE, w.me, platform=platform, m=gid("Message", note.id))
    assert [(e.kind, e.visitor_visible) for e in await _events_of(note.id)] == [
        ("MESSAGE_ADDED", False), ("MESSAGE_EDITED", False), ("MESSAGE_DELETED", False)]


async def test_reply_and_quote_keep_the_original_even_after_it_is_edited_and_deleted(db, platform):
    w = await answered_chat()
    client_message = await Message.filter(chat_id=w.chat.id, author_kind="CLIENT").first()
    mine = await messages.send_message(w.me, chat_id=w.chat.id, text="Price is 10")
    data = await execute(SEND, w.me, input={"chatId": w.chat_gid, "text": "As I said:",
                                            "replyToMessageId": gid("Message", client_message.id),
                                            "quoteMessageId": gid("Message", mine.id)})
    sent = data["sendMessage"]["message"]
    assert data["sendMessage"]["userErrors"] == []
    assert sent["replyTo"] == {"id": gid("Message", client_message.id), "text": "Hello, I need help"}
    assert sent["quotedMessage"]["text"] == "Price is 10"
    await execute(EDIT, w.me, m=gid("Message", mine.id), t="Price is 12")
    await execute(DELETE, w.me, platform=platform, m=gid("Message", mine.id))
    history = await execute(VISITOR_HISTORY, w.visitor)
    assert history["visitorChat"]["messages"]["edges"][-1]["node"]["quotedMessage"] == {"text": "Price is 10"}
    query = "query($c: ID!) { chat(id: $c) { messages(last: 1) { edges { node { quotedMessage { id text deleted " \
            "editedAt author { name } } } } } } }"
    quoted = (await execute(query, w.me, c=w.chat_gid))["chat"]["messages"]["edges"][0]["node"]["quotedMessage"]
    assert quoted == {"id": gid("Message", mine.id), "text": "Price is 10", "deleted": False, "editedAt": None,
                      "author": {"name": "Olga Operator"}}


async def test_reply_must_stay_in_the_chat_and_a_silent_note_is_not_quoted_to_the_client(db):
    w = await answered_chat()
    other = await answered_chat("Bea Client")
    elsewhere = await messages.send_message(other.me, chat_id=other.chat.id, text="elsewhere")
    note = await messages.send_message(w.me, chat_id=w.chat.id, text="internal only", silent=True)
    await messages.send_message(w.me, chat_id=w.chat.id, text="hi")
    cases = [
        ({"replyToMessageId": gid("Message", elsewhere.id)}, "NOT_FOUND", "replyToMessageId"),
        ({"quoteMessageId": gid("Message", note.id)}, "INVALID_INPUT", "quoteMessageId"),
    ]
    for extra, code, field in cases:
        data = await execute(SEND, w.me, input={"chatId": w.chat_gid, "text": "x", **extra})
        assert data["sendMessage"]["userErrors"] == [{"code": code, "field": ["input", field]}]
    # quoting a note in another note is fine
    data = await execute(SEND, w.me, input={"chatId": w.chat_gid, "text": "see", "silent": True,
                                            "quoteMessageId": gid("Message", note.id)})
    assert data["sendMessage"]["message"]["quotedMessage"]["text"] == "internal only"


async def test_mentions_link_colleagues_and_notify_them_but_not_outsiders(db):
    w = await answered_chat()
    data = await execute(SEND, w.me, input={"chatId": w.chat_gid, "text": "@Carl Colleague can you check?",
                                            "silent": True, "mentionOperatorIds": [gid("Operator", w.colleague.id)]})
    message = data["sendMessage"]["message"]
    assert message["mentions"] == [{"id": gid("Operator", w.colleague.id), "name": "Carl Colleague"}]
    assert message["html"] == (f'<span class="mention" data-operator-id="{gid("Operator", w.colleague.id)}">'
                               "@Carl Colleague</span> can you check?")
    event = await Event.filter(kind="MESSAGE_ADDED").order_by("-id").first()
    assert w.colleague.id in event.operator_ids  # myChatsChanged delivers it to the colleague
    refused = await execute(SEND, w.me, input={"chatId": w.chat_gid, "text": "@Otto",
                                               "mentionOperatorIds": [gid("Operator", w.outsider.id)]})
    assert refused["sendMessage"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "mentionOperatorIds"]}]


async def test_mark_message_unread_moves_the_marker_back(db):
    w = await answered_chat()
    first = await messages.send_visitor_message(w.visitor, text="one")
    await messages.send_visitor_message(w.visitor, text="two")
    await execute("mutation($c: ID!) { markChatRead(input: {chatId: $c}) { chat { id } } }", w.me, c=w.chat_gid)
    query = "query($c: ID!) { chat(id: $c) { unreadCount } me { unreadCount } }"
    assert (await execute(query, w.me, c=w.chat_gid))["chat"]["unreadCount"] == 0
    data = await execute("mutation($m: ID!) { markMessageUnread(input: {messageId: $m}) "
                         "{ chat { id unreadCount } userErrors { code } } }", w.me, m=gid("Message", first.id))
    assert data["markMessageUnread"] == {"chat": {"id": w.chat_gid, "unreadCount": 2}, "userErrors": []}
    assert (await execute(query, w.me, c=w.chat_gid)) == {"chat": {"unreadCount": 2}, "me": {"unreadCount": 2}}
    event = await Event.all().order_by("-id").first()
    assert event.operator_ids == [w.operator.id] and event.visitor_visible is False
    # the colleague's counter is theirs: unchanged by my marker
    refused = await execute("mutation($m: ID!) { markMessageUnread(input: {messageId: $m}) { userErrors { code } } }",
                            w.outsider_viewer, m=gid("Message", first.id))
    assert refused["markMessageUnread"]["userErrors"] == [{"code": "NOT_FOUND"}]


async def test_edit_and_delete_stream_to_the_visitor_and_to_operators(db, platform):
    import asyncio

    from resolvers.context import Context
    from schema import schema
    from tests.factories import last_event_id

    w = await answered_chat()
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="first")
    after = str(await last_event_id())
    await execute(EDIT, w.me, m=gid("Message", sent.id), t="second")
    await execute(DELETE, w.me, platform=platform, m=gid("Message", sent.id))

    async def two(query: str, viewer, **variables):
        stream = await schema.subscribe(query, variable_values=variables, context_value=Context(viewer=viewer))
        got = []
        async with asyncio.timeout(10):
            async for result in stream:
                assert result.errors is None, result.errors
                got.append(list(result.data.values())[0])
                if len(got) == 2:
                    break
        await stream.aclose()
        return got

    visitor = await two("subscription($a: String) { visitorChatEvents(after: $a) { kind message { text deleted } } }",
                        w.visitor, a=after)
    # events carry ids: each delivers the message as it is now (already deleted, on replay)
    assert visitor == [{"kind": "MESSAGE_EDITED", "message": {"text": "", "deleted": True}},
                       {"kind": "MESSAGE_DELETED", "message": {"text": "", "deleted": True}}]
    operator = await two("subscription($c: ID!, $a: String) { chatEvents(chatId: $c, after: $a) { kind } }",
                         w.colleague_viewer, c=w.chat_gid, a=after)
    assert [e["kind"] for e in operator] == ["MESSAGE_EDITED", "MESSAGE_DELETED"]


async def test_a_mentioned_colleague_hears_of_it_on_my_chats_changed(db):
    import asyncio

    from resolvers.context import Context
    from schema import schema
    from tests.factories import last_event_id

    w = await answered_chat()
    after = str(await last_event_id())
    await execute(SEND, w.me, input={"chatId": w.chat_gid, "text": "@Carl Colleague look", "silent": True,
                                     "mentionOperatorIds": [gid("Operator", w.colleague.id)]})
    await messages.send_message(w.me, chat_id=w.chat.id, text="no mention")
    stream = await schema.subscribe("subscription($a: String) { myChatsChanged(after: $a) { kind chat { id } "
                                    "message { text mentions { name } } } }", variable_values={"a": after},
                                    context_value=Context(viewer=w.colleague_viewer))
    async with asyncio.timeout(10):
        result = await stream.__anext__()
    await stream.aclose()
    assert result.errors is None, result.errors
    assert result.data["myChatsChanged"] == {"kind": "MESSAGE_ADDED", "chat": {"id": w.chat_gid}, "message": {
        "text": "@Carl Colleague look", "mentions": [{"name": "Carl Colleague"}]}}
    # the colleague is not on the chat: the unmentioned message is not in their list's stream
    event = await Event.filter(kind="MESSAGE_ADDED").order_by("-id").first()
    assert w.colleague.id not in event.operator_ids


async def test_a_visitor_cannot_edit_or_delete(db, platform):
    w = await answered_chat()
    own = await messages.send_visitor_message(w.visitor, text="typo")
    for query, variables in ((EDIT, {"t": "fixed"}), (DELETE, {})):
        data = await execute(query, w.visitor, platform=platform, m=gid("Message", own.id), **variables)
        assert list(data.values())[0]["userErrors"][0]["code"] == "FORBIDDEN"
    assert (await Message.get(id=own.id)).text == "typo"
