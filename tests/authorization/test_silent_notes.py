"""Silent notes never reach a visitor, by any path a visitor token can take.

The visitor's chat holds silent notes (one with a file, one as the chat's last message, one
answered by a visible reply), and an operator started a second conversation with the same
client whose only message is a silent note quoting the client. Then every query, mutation
payload and subscription a visitor may use that returns messages is read as the visitor: no
silent note's id, text or file may appear anywhere in the answers. The same queries as the
channel operator do show them (so the answers hold what is being looked for).
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from models import Attachment, Message
from infrastructure.platform import Platform
from resolvers.context import Context
from schema import schema
from resolvers.ids import to_global_id
from services.messaging import chats_from_messages
from services.messaging import files
from services.messaging import messages
from tests.authorization.matrix import PNG
from tests.authorization.world import SILENT_TEXT, World, build_world

M = "id text silent attachments { id name } replyTo { id text silent } quotedMessage { id text silent }"
MESSAGES = f"messages(first: 20) {{ edges {{ node {{ {M} }} }} }}"
CHAT = f"id title lastMessage {{ {M} }} {MESSAGES} parentChat {{ id lastMessage {{ {M} }} {MESSAGES} }}"
CLIENT = f"id {MESSAGES} chats(first: 3) {{ edges {{ node {{ id lastMessage {{ {M} }} {MESSAGES} }} }} }}"
EVENT = f"eventId kind chat {{ id lastMessage {{ {M} }} }} message {{ {M} }}"

#: every visitor query that returns messages, each on its own (query limits stay out of the way)
QUERIES = {
    "visitorChat": f"{{ visitorChat {{ {CHAT} client {{ {CLIENT} }} }} }}",
    "chat": f"query($id: ID!) {{ chat(id: $id) {{ {CHAT} }} }}",
    "node(Chat)": f"query($id: ID!) {{ node(id: $id) {{ id ... on Chat {{ {CHAT} }} }} }}",
    "node(Client)": f"query($client: ID!) {{ node(id: $client) {{ id ... on Client {{ {CLIENT} }} }} }}",
    "node(silent note)": "query($note: ID!) { node(id: $note) { id ... on Message { text } } }",
    "node(silent file)": "query($file: ID!) { node(id: $file) { id ... on Attachment { name } } }",
    "searchMessages(whisper)": f'{{ searchMessages(query: "whisper", first: 50) {{ edges {{ node {{ {M} }} }} }} }}',
    "searchMessages(conversation)":
        f'{{ searchMessages(query: "conversation started", first: 50) {{ edges {{ node {{ {M} }} }} }} }}',
}


async def _silent_world(platform: Platform) -> tuple[World, dict[str, Any]]:
    world = await build_world("answered")
    me = world.viewers["channel_operator"]
    upload = await files.upload_file(me, platform.files, chat_id=world.chat_id, name="secret-plan.png", data=PNG)
    await messages.send_message(me, chat_id=world.chat_id, text="whisper-file: the plan is attached", silent=True,
                                attachment_ids=[upload.id])
    await messages.send_message(me, chat_id=world.chat_id, text="Thanks for waiting!",
                                reply_to_message_id=world.silent_note_id)
    second = await chats_from_messages.start_conversation_from_message(me, message_id=world.visitor_message_id)
    await messages.send_message(me, chat_id=world.chat_id, text="whisper-last: refund approved", silent=True)
    notes = await Message.filter(silent=True).values("id", "text")
    assert len(notes) == 4 and SILENT_TEXT in {n["text"] for n in notes}
    secrets = {to_global_id("Message", n["id"]) for n in notes} | {n["text"] for n in notes}
    secrets |= {to_global_id("Attachment", upload.id), "secret-plan.png"}
    variables = {"id": world.chat, "second": to_global_id("Chat", second.id),
                 "client": to_global_id("Client", world.client_id), "note": to_global_id("Message", world.silent_note_id),
                 "file": to_global_id("Attachment", upload.id)}
    assert await Attachment.filter(id=upload.id, message_id__isnull=False).exists()
    return world, {"secrets": secrets, "variables": variables, "second_chat_id": second.id}


def _leaks(answer: Any, secrets: set[str]) -> list[str]:
    text = json.dumps(answer)
    found = sorted(s for s in secrets if s in text)
    if '"silent": true' in text:
        found.append('"silent": true')
    return found


async def _query(document: str, viewer, variables: dict[str, Any], platform: Platform) -> Any:
    wanted = {k: v for k, v in variables.items() if f"${k}" in document}
    result = await schema.execute(document, variable_values=wanted, context_value=Context(viewer=viewer, platform=platform))
    assert result.errors is None, (document, result.errors)
    return result.data


async def test_no_visitor_query_or_payload_shows_a_silent_note(db, matrix_services):
    world, s = await _silent_world(matrix_services)
    visitor, operator = world.viewers["visitor"], world.viewers["channel_operator"]
    for name, document in QUERIES.items():
        answer = await _query(document, visitor, s["variables"], matrix_services)
        assert not _leaks(answer, s["secrets"]), (name, _leaks(answer, s["secrets"]))
    for name in ("chat", "node(Chat)", "searchMessages(whisper)"):  # the operator does see them
        assert _leaks(await _query(QUERIES[name], operator, s["variables"], matrix_services), s["secrets"]), name

    # the visitor sees the visible messages, with a reply to a silent note that points nowhere
    answer = await _query(QUERIES["chat"], visitor, s["variables"], matrix_services)
    texts = [e["node"]["text"] for e in answer["chat"]["messages"]["edges"]]
    assert "Sure, let me check your order." in texts and "Thanks for waiting!" in texts
    assert [e["node"]["replyTo"] for e in answer["chat"]["messages"]["edges"]
            if e["node"]["text"] == "Thanks for waiting!"] == [None]
    assert answer["chat"]["lastMessage"]["text"] == "Thanks for waiting!"  # not the silent note after it
    visitor_chat = (await _query(QUERIES["visitorChat"], visitor, s["variables"], matrix_services))["visitorChat"]
    assert visitor_chat["id"] == s["variables"]["second"] and visitor_chat["lastMessage"] is None
    assert visitor_chat["parentChat"]["id"] == world.chat

    sent = await _query(f"mutation {{ sendVisitorMessage(input: {{text: \"Any news?\"}}) {{ message {{ {M} chat {{ "
                        f"{CHAT} }} }} userErrors {{ code }} }} }}", visitor, {}, matrix_services)
    assert sent["sendVisitorMessage"]["userErrors"] == []
    assert not _leaks(sent, s["secrets"])


async def _events_until(stream, markers: set[str]) -> list[Any]:
    """Events up to and including every marker text (each stream is live after its backlog)."""
    got: list[Any] = []
    async with asyncio.timeout(20):
        async for result in stream:
            assert result.errors is None, result.errors
            event = next(iter(result.data.values()))
            got.append(event)
            texts = {(e.get("message") or e).get("text") for e in got}
            if markers <= texts:
                return got
    return got


async def test_no_visitor_subscription_carries_a_silent_note(db, matrix_services):
    world, s = await _silent_world(matrix_services)
    visitor, operator = world.viewers["visitor"], world.viewers["channel_operator"]
    second = s["variables"]["second"]
    documents = {
        "visitorChatEvents": (f'subscription {{ visitorChatEvents(after: "0") {{ {EVENT} }} }}', {}),
        "chatEvents": (f'subscription($c: ID!) {{ chatEvents(chatId: $c, after: "0") {{ {EVENT} }} }}',
                       {"c": world.chat}),
        "chatEvents(second)": (f'subscription($c: ID!) {{ chatEvents(chatId: $c, after: "0") {{ {EVENT} }} }}',
                               {"c": second}),
        "messageAdded": (f'subscription($c: ID) {{ messageAdded(chatId: $c, after: "0") {{ {M} chat {{ id }} }} }}',
                         {"c": world.chat}),
    }
    streams = {}
    for name, (document, variables) in documents.items():
        stream = await schema.subscribe(document, variable_values=variables, context_value=Context(viewer=visitor, platform=matrix_services))
        first = await asyncio.wait_for(stream.__anext__(), 20)  # the backlog is read: the stream is live
        assert first.errors is None, (name, first.errors)
        streams[name] = (stream, [next(iter(first.data.values()))])
    # markers after everything: each stream is complete once its markers have arrived
    await messages.send_message(operator, chat_id=world.chat_id, text="marker-first-chat")
    await messages.send_message(operator, chat_id=s["second_chat_id"], text="marker-second-chat")
    markers = {"visitorChatEvents": {"marker-first-chat", "marker-second-chat"}, "chatEvents": {"marker-first-chat"},
               "chatEvents(second)": {"marker-second-chat"}, "messageAdded": {"marker-first-chat"}}
    try:
        for name, (stream, events) in streams.items():
            events += await _events_until(stream, markers[name])
            assert not _leaks(events, s["secrets"]), (name, _leaks(events, s["secrets"]))
            assert len(events) > len(markers[name]), name  # the backlog came too, not only the markers
    finally:
        for stream, _ in streams.values():
            await stream.aclose()


COPY_MUTATIONS = {
    "save": "mutation($m: ID!) { saveMessageAsCannedResponse(input: {messageId: $m}) "
            "{ cannedResponse { id text silent } userErrors { code } } }",
    "send": "mutation($c: ID!, $r: ID!) { sendCannedResponse(input: {chatId: $c, cannedResponseId: $r}) "
            "{ message { text silent } userErrors { code } } }",
    "feed": "mutation($m: ID!) { createFeedPostFromMessage(input: {messageId: $m}) "
            "{ feedPost { text } userErrors { code field } } }",
}


async def test_a_silent_note_copied_through_a_canned_response_never_reaches_the_visitor(db, matrix_services):
    """saveMessageAsCannedResponse of a silent note then sendCannedResponse: a silent note again."""
    world = await build_world("answered")
    visitor, operator = world.viewers["visitor"], world.viewers["channel_operator"]
    note = to_global_id("Message", world.silent_note_id)
    saved = (await _query(COPY_MUTATIONS["save"], operator, {"m": note}, matrix_services))["saveMessageAsCannedResponse"]
    assert saved["userErrors"] == [] and saved["cannedResponse"]["silent"] is True
    sent = (await _query(COPY_MUTATIONS["send"], operator, {"c": world.chat, "r": saved["cannedResponse"]["id"]}, matrix_services)
            )["sendCannedResponse"]
    assert sent == {"message": {"text": SILENT_TEXT, "silent": True}, "userErrors": []}
    posted = (await _query(COPY_MUTATIONS["feed"], operator, {"m": note}, matrix_services))["createFeedPostFromMessage"]
    assert posted == {"feedPost": None, "userErrors": [{"code": "INVALID_INPUT", "field": ["input", "messageId"]}]}

    variables = {"id": world.chat, "client": to_global_id("Client", world.client_id), "note": note}
    for name in ("visitorChat", "chat", "node(Client)", "searchMessages(whisper)"):
        answer = await _query(QUERIES[name], visitor, variables, matrix_services)
        assert not _leaks(answer, {SILENT_TEXT}), (name, answer)
    assert _leaks(await _query(QUERIES["chat"], operator, variables, matrix_services), {SILENT_TEXT})  # it is there, for operators
    stream = await schema.subscribe(f'subscription {{ visitorChatEvents(after: "0") {{ {EVENT} }} }}',
                                    context_value=Context(viewer=visitor, platform=matrix_services))
    try:
        await messages.send_message(operator, chat_id=world.chat_id, text="marker-after-copy")
        events = await _events_until(stream, {"marker-after-copy"})
        assert not _leaks(events, {SILENT_TEXT}), events
    finally:
        await stream.aclose()
