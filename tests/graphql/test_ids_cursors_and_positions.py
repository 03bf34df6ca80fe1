"""IDs, cursors and `after` positions that clients write get a clear INVALID_INPUT error, never
an internal error, an answer for a number the client did not write, or silence.

`str.isdigit()` and `int()` take any Unicode digit: `after: "²"` was an internal error,
`"١٢"` (Arabic-Indic twelve) was taken as 12, and `"99999999999999999999"` reached the database,
which failed on it. A subscription `after` an id beyond the newest event was accepted and then
never answered. `chat(id:)` with another type's ID answered null, where the mutations say "Not a
valid Chat ID.". Through the real schema, on both backends.
"""
from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timezone

import pytest

from resolvers.context import Context
from schema import schema
from resolvers.ids import to_global_id
from services.messaging import messages
from services.contact_center.conversations import KEYSETS, ConversationOrder
from services.common.pagination import encode_keyset_cursor
from tests.factories import last_event_id, make_admin, queued_chat
from tests.graphql.helpers import execute, execute_raw

#: numbers no client of this API ever received
NOT_OURS = {"beyond-64-bits": "99999999999999999999", "superscript-two": "\u00b2",
            "arabic-indic-twelve": "\u0661\u0662", "fullwidth-one": "\uff11", "signed": "+1", "spaced": " 1",
            "underscored": "1_0", "empty-looking": "\u0660"}


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _error_codes(result) -> list[str | None]:
    return [(error.extensions or {}).get("code") for error in result.errors or []]


@pytest.fixture
async def world(db):
    _, admin = await make_admin()
    _, _, chat, visitor = await queued_chat(members=1)
    await messages.send_visitor_message(visitor, text="second message")
    return admin, chat, visitor


@pytest.mark.parametrize("kind", sorted(NOT_OURS))
async def test_an_id_cursor_with_a_number_that_is_not_ours_is_invalid_input(world, kind):
    admin, chat, _ = world
    query = "query($c: ID!, $a: String) { chat(id: $c) { messages(first: 5, after: $a) { totalCount } } }"
    result = await execute_raw(query, admin, c=to_global_id("Chat", chat.id), a=_b64(f"c:{NOT_OURS[kind]}"))
    assert _error_codes(result) == ["INVALID_INPUT"], result.errors
    assert result.errors[0].message == "`after` is not a cursor from this API."


async def test_a_real_id_cursor_still_pages(world):
    admin, chat, _ = world
    query = ("query($c: ID!, $a: String) { chat(id: $c) { messages(first: 1, after: $a) "
             "{ edges { cursor node { text } } } } }")
    first = (await execute(query, admin, c=to_global_id("Chat", chat.id), a=None))["chat"]["messages"]["edges"]
    second = (await execute(query, admin, c=to_global_id("Chat", chat.id), a=first[0]["cursor"]))["chat"]["messages"]
    assert [e["node"]["text"] for e in second["edges"]] == ["second message"]


@pytest.mark.parametrize("pk", [10**20, 2**31, -1, True, 1.5])
async def test_a_keyset_cursor_with_an_id_no_row_can_have_is_invalid_input(world, pk):
    admin, _, _ = world
    query = "query($a: String) { conversations(first: 5, after: $a) { totalCount } }"
    moment = datetime.now(timezone.utc)
    result = await execute_raw(query, admin, a=_b64("k:" + json.dumps(["NEWEST", moment.isoformat(), pk])))
    assert _error_codes(result) == ["INVALID_INPUT"], result.errors
    assert result.errors[0].message == "`after` is not a cursor of this list in this order."
    largest = encode_keyset_cursor(KEYSETS[ConversationOrder.NEWEST], moment, 2**31 - 1)
    assert (await execute(query, admin, a=largest))["conversations"]["totalCount"] == 1


async def _first_answer(subscription: str, viewer, **variables):
    """The subscription's first result. The timeout is no speed limit: a refusal comes at once, and a
    subscription accepted on a quiet database would never answer (the defect this file is about)."""
    stream = await schema.subscribe(subscription, variable_values=variables, context_value=Context(viewer=viewer))
    if not hasattr(stream, "__anext__"):
        return stream  # refused before it started (validation, limits)
    try:
        async with asyncio.timeout(10):
            return await stream.__anext__()
    finally:
        await stream.aclose()


SUBSCRIPTIONS = {
    "chatEvents": "subscription($c: ID!, $a: String) { chatEvents(chatId: $c, after: $a) { eventId } }",
    "queueChanged": "subscription($a: String) { queueChanged(after: $a) { eventId } }",
    "myChatsChanged": "subscription($a: String) { myChatsChanged(after: $a) { eventId } }",
    "messageAdded": "subscription($c: ID, $a: String) { messageAdded(chatId: $c, after: $a) { id } }",
}


@pytest.mark.parametrize("kind", [*sorted(NOT_OURS), "beyond-the-newest-event"])
async def test_a_subscription_after_an_event_id_nobody_received_is_refused(world, kind):
    admin, chat, visitor = world
    after = NOT_OURS.get(kind) or str(await last_event_id() + 1)
    cases = [(name, subscription, admin) for name, subscription in SUBSCRIPTIONS.items()]
    cases.append(("visitorChatEvents", "subscription($a: String) { visitorChatEvents(after: $a) { eventId } }", visitor))
    for name, subscription, viewer in cases:
        variables = {"a": after, **({"c": to_global_id("Chat", chat.id)} if "$c" in subscription else {})}
        result = await _first_answer(subscription, viewer, **variables)
        assert _error_codes(result) == ["INVALID_INPUT"], (name, result.errors)
        assert result.errors[0].extensions["field"] == ["after"], (name, result.errors[0].extensions)
        assert "`after`" in result.errors[0].message


async def test_a_subscription_after_the_newest_event_is_accepted_and_gets_the_next_one(world):
    admin, chat, visitor = world
    newest = await last_event_id()
    stream = await schema.subscribe(SUBSCRIPTIONS["chatEvents"], context_value=Context(viewer=admin),
                                    variable_values={"c": to_global_id("Chat", chat.id), "a": str(newest)})
    try:
        async with asyncio.timeout(10):
            answer = asyncio.ensure_future(stream.__anext__())
            await messages.send_visitor_message(visitor, text="one more")
            result = await answer
    finally:
        await stream.aclose()
    assert result.errors is None, result.errors
    assert int(result.data["chatEvents"]["eventId"]) == newest + 1


async def test_a_query_by_an_id_of_another_type_is_invalid_input_as_in_mutations(world):
    admin, chat, _ = world
    channel_id = to_global_id("OpenChannel", chat.open_channel_id)
    for query, message in (("query($i: ID!) { chat(id: $i) { id } }", "Not a valid Chat ID."),
                           ("query($i: ID!) { client(id: $i) { id } }", "Not a valid Client ID.")):
        for bad in (channel_id, "not an id", _b64("Chat:" + NOT_OURS["arabic-indic-twelve"])):
            result = await execute_raw(query, admin, i=bad)
            assert _error_codes(result) == ["INVALID_INPUT"], (query, bad, result.errors)
            assert result.errors[0].message == message and result.errors[0].extensions["field"] == ["id"]
    mutation = await execute("mutation($i: ID!) { answerChat(input: {chatId: $i}) { userErrors { code message } } }",
                             admin, i=channel_id)
    assert mutation["answerChat"]["userErrors"] == [{"code": "INVALID_INPUT", "message": "Not a valid Chat ID."}]
    for bad in (to_global_id("Nope", 1), "not an id", _b64("Chat:" + NOT_OURS["superscript-two"])):
        result = await execute_raw("query($i: ID!) { node(id: $i) { id } }", admin, i=bad)
        assert _error_codes(result) == ["INVALID_INPUT"], (bad, result.errors)
        assert result.errors[0].message == "Not a valid ID."


async def test_a_well_formed_id_of_nothing_visible_is_still_null(world):
    admin, chat, _ = world
    missing = to_global_id("Chat", chat.id + 1000)
    assert await execute("query($i: ID!) { chat(id: $i) { id } node(id: $i) { id } }", admin, i=missing) == {
        "chat": None, "node": None}
    assert await execute("query($i: ID!) { client(id: $i) { id } }", admin, i=to_global_id("Client", 10**6)) == {
        "client": None}
