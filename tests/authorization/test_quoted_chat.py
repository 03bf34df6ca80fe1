"""A quote shares a message's text, not its chat.

discussMessageInChat opens an internal chat that quotes a customer's message; the colleagues
invited may not see the customer's chat. `quotedMessage.chat` used to load that chat by id
without asking who reads it, so such a colleague read its client's e-mail, its participants and
its last message (a silent note), while `chat(id:)` answered null. Now it is NOT_FOUND for them.
"""
from __future__ import annotations

import json

from resolvers.context import Context
from schema import schema
from services.messaging import chats_from_messages
from tests.authorization.world import SILENT_TEXT, build_world

QUOTE = """{ myChats { internal { messages(first: 5) { edges { node { quotedMessage { text %s } } } } } } }"""
CHAT_OF_QUOTE = "chat { id title client { email } lastMessage { text } participants { name } }"


async def _discussed_with_an_outsider():
    world = await build_world("answered")
    await chats_from_messages.discuss_message_in_chat(
        world.viewers["channel_operator"], message_id=world.visitor_message_id,
        operator_ids=[world.operator_ids["other_operator"]])
    return world


async def _read(query: str, viewer):
    return await schema.execute(query, context_value=Context(viewer=viewer))


def _quote_of(result) -> dict | None:
    return result.data["myChats"]["internal"][0]["messages"]["edges"][0]["node"]["quotedMessage"]


async def test_the_outsider_reads_the_quote_but_not_its_chat(db):
    world = await _discussed_with_an_outsider()
    outsider = world.viewers["other_operator"]
    plain = await _read(QUOTE % "", outsider)
    assert plain.errors is None
    assert _quote_of(plain) == {"text": "Hello, I need help with my order"}

    nosy = await _read(QUOTE % CHAT_OF_QUOTE, outsider)
    assert [(e.extensions or {}).get("code") for e in nosy.errors] == ["NOT_FOUND"]
    assert nosy.errors[0].path[-2:] == ["quotedMessage", "chat"]
    leaked = json.dumps(nosy.data)
    assert "vera@example.test" not in leaked and SILENT_TEXT not in leaked and "Pia Participant" not in leaked
    # and, as everywhere else, the chat itself is not there for them
    direct = await schema.execute("query($id: ID!) { chat(id: $id) { id } }", variable_values={"id": world.chat},
                                  context_value=Context(viewer=outsider))
    assert direct.errors is None and direct.data == {"chat": None}


async def test_whoever_may_see_the_chat_reaches_it_from_the_quote(db):
    world = await _discussed_with_an_outsider()
    result = await _read(QUOTE % "chat { id client { email } }", world.viewers["channel_operator"])
    assert result.errors is None
    assert _quote_of(result)["chat"] == {"id": world.chat, "client": {"email": "vera@example.test"}}
