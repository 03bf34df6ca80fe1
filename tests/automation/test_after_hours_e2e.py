"""Issue #19 against a real server, over HTTP: the after-hours path (the message once, no offer
while closed, the server's own scheduler offering the chat once the hours allow it) and a
returning visitor verified by the website's identity hash."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

from tests.e2e.actors import Actor, Admin, start_visitor_chat, unique

UPDATE_HOURS = "openChannel { isOpenNow afterHoursMessage workingHours { timeZone periods { weekday } } }"
CLOSED = {"timeZone": "UTC", "periods": []}  # closed until changed


async def test_after_hours_the_visitor_is_told_once_and_offers_start_when_the_hours_allow(admin: Admin, http):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    updated = await admin.mutate("updateOpenChannel", UPDATE_HOURS,
                                 {"openChannelId": channel_id, "workingHours": CLOSED,
                                  "afterHoursMessage": "We are closed: we answer from 9:00."},
                                 "UpdateOpenChannelInput")
    assert updated["openChannel"]["isOpenNow"] is False

    visitor = await start_visitor_chat(http, channel_id, text="Hello, is anyone there?")
    await visitor.send("Hello??")
    own = await visitor.own_chat()
    assert [(e["node"]["authorKind"], e["node"]["text"]) for e in own["messages"]["edges"]] == [
        ("CLIENT", "Hello, is anyone there?"), ("SYSTEM", "We are closed: we answer from 9:00."),
        ("CLIENT", "Hello??")]
    assert (await operator.chat(visitor.chat_id))["offeredTo"] == []

    reopened = await admin.mutate("updateOpenChannel", UPDATE_HOURS,
                                  {"openChannelId": channel_id, "workingHours": None}, "UpdateOpenChannelInput")
    assert reopened["openChannel"]["isOpenNow"] is True
    deadline = time.monotonic() + 15  # the server's scheduler runs every second
    while (await operator.chat(visitor.chat_id))["offeredTo"] != [{"id": operator.id}]:
        assert time.monotonic() < deadline, "the waiting chat was never offered"
        await asyncio.sleep(0.2)
    answered = await operator.answer(visitor.chat_id)
    assert answered["status"] == "ACTIVE"


async def test_a_returning_visitor_with_the_websites_signature_is_the_same_client(admin: Admin, http):
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    secret = (await admin.mutate("rotateIdentitySecret", "secret", {"openChannelId": channel_id},
                                 "OpenChannelInput"))["secret"]
    user = unique("user")
    signature = hmac.new(secret.encode(), user.encode(), hashlib.sha256).hexdigest()
    public = Actor(http, None)
    start = ("mutation ($input: StartVisitorChatInput!) { startVisitorChat(input: $input) "
             "{ visitorToken chat { id } userErrors { code field } } }")

    first = (await public.data(start, input={"openChannelId": channel_id, "text": "First visit",
                                             "externalId": user, "identityHash": signature}))["startVisitorChat"]
    await operator.answer(first["chat"]["id"])
    await operator.finish(first["chat"]["id"])
    second = (await public.data(start, input={"openChannelId": channel_id, "text": "Back again",
                                              "externalId": user, "identityHash": signature}))["startVisitorChat"]
    wrong = (await public.data(start, input={"openChannelId": channel_id, "text": "Let me in",
                                             "externalId": user, "identityHash": "0" * 64}))["startVisitorChat"]
    assert wrong["visitorToken"] is None and wrong["userErrors"] == [{"code": "INVALID_INPUT",
                                                                     "field": ["input", "identityHash"]}]

    client_of = "query ($id: ID!) { chat(id: $id) { client { id externalId chats { totalCount } } } }"
    one = (await operator.data(client_of, id=first["chat"]["id"]))["chat"]["client"]
    two = (await operator.data(client_of, id=second["chat"]["id"]))["chat"]["client"]
    assert one["id"] == two["id"] and two["externalId"] == user and two["chats"]["totalCount"] == 2
