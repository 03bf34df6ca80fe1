"""Outbound webhooks: the event log POSTed, signed, in order, to a real local HTTP receiver.

Deliveries run through the scheduler's tick over real HTTP (uvicorn on a free loopback port);
the clock is injected, so the backoff is walked by moving it.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from infrastructure.connector_transport import Answer
from infrastructure.webhook_targets import WebhookTargets
from models import ChatStatus, Event, QueueDistribution, Webhook
from resolvers.ids import to_global_id
from services.automation import scheduler, webhook_delivery, webhooks
from services.automation.connector_adapters import sign
from services.chats import chats
from services.common.errors import Forbidden, InvalidInput
from services.messaging import messages
from tests.automation.receivers import HookReceiver, hook_receiver
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute, execute_raw

#: the tests' receivers listen on loopback (WEBHOOK_ALLOW_PRIVATE=true)
LOOPBACK = WebhookTargets(allow_private=True)
SILENT = "internal: the client was rude last time"


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[HookReceiver]:
    server = hook_receiver()
    await server.start()
    yield server
    await server.stop()


async def tick() -> int:
    return await scheduler.tick(webhooks=LOOPBACK)


async def scene(receiver: HookReceiver, **options):
    """An admin's webhook on the receiver, a channel with one operator; returns (webhook, operator viewer,
    admin viewer, channel)."""
    operator, op = await make_operator("Olga")
    _, admin = await make_admin()
    channel = await make_open_channel([operator], distribution=QueueDistribution.ALL, admin=admin)
    webhook = await webhooks.create_webhook(admin, url=f"{receiver.url}/hook", targets=LOOPBACK, **options)
    return webhook, op, admin, channel


async def matching_event_ids(webhook: Webhook) -> list[int]:
    """Ground truth: the events after the webhook's start that carry a queue or chat kind, visible to the client."""
    rows = await Event.filter(id__gt=webhook.delivered_event_id, visitor_visible=True).order_by("id") \
        .values_list("id", "queue_kind", "chat_kind")
    return [i for i, q, c in rows if q or c]


async def kinds_of(chat_id: int, webhook: Webhook) -> list[str]:
    """Ground truth: the kinds of the chat's events the webhook receives, in the order they happened."""
    rows = await Event.filter(chat_id=chat_id, id__gt=webhook.delivered_event_id, visitor_visible=True) \
        .order_by("id").values_list("queue_kind", "chat_kind")
    return [q or c for q, c in rows if q or c]


async def test_events_arrive_signed_in_order_per_chat_and_without_silent_notes(db, clock, receiver):
    before_operator, _ = await make_operator("Before")
    early_channel = await make_open_channel([before_operator])
    await start_chat(early_channel, "written before the webhook existed")
    webhook, op, admin, channel = await scene(receiver)
    first, _, _ = await start_chat(channel, "Hello, is my order shipped?")
    second, _, _ = await start_chat(channel, "Another question")
    assert first is not None and second is not None
    await chats.answer_chat(op, chat_id=first.id)
    await messages.send_message(op, chat_id=first.id, text="Yes, yesterday.")
    await messages.send_message(op, chat_id=first.id, text=SILENT, silent=True)
    await chats.answer_chat(op, chat_id=second.id)
    await chats.finish_chat(op, chat_id=first.id)
    expected = await matching_event_ids(webhook)

    assert await tick() == len(expected)

    bodies = receiver.acknowledged()
    assert [int(b["eventId"]) for b in bodies] == expected  # every event once, in the log's order
    for answered in receiver.answered:
        request = answered.request
        timestamp = request.headers["x-openchannels-timestamp"]
        assert request.headers["x-openchannels-signature"] == sign(webhook.secret, timestamp, request.body)
        assert request.headers["x-openchannels-event-id"] == request.json["eventId"]
        assert set(request.json) == {"eventId", "kind", "chatId", "occurredAt", "actor", "state", "message"}
        assert SILENT.encode() not in request.body
    for chat in (first, second):  # each chat's events in the order they happened
        of_chat = [b for b in bodies if b["chatId"] == str(chat.id)]
        assert [b["kind"] for b in of_chat] == await kinds_of(chat.id, webhook)
    of_first = [b for b in bodies if b["chatId"] == str(first.id)]
    texts = [b["message"]["text"] for b in of_first if b["message"]]
    assert texts[:2] == ["Hello, is my order shipped?", "Yes, yesterday."]  # (then the system's rating request)
    assert {"CHAT_QUEUED", "CHAT_ANSWERED", "CHAT_FINISHED"} <= {b["kind"] for b in of_first}
    answered = next(b for b in bodies if b["kind"] == "CHAT_ANSWERED" and b["chatId"] == str(first.id))
    assert answered["actor"] == {"id": str(op.operator_id), "name": "Olga"}
    assert answered["state"]["status"] == "ACTIVE" and answered["state"]["operatorId"] == str(op.operator_id)
    assert next(b for b in bodies if b["kind"] == "CHAT_QUEUED")["actor"] is None
    finished = next(b for b in of_first if b["kind"] == "CHAT_FINISHED")
    assert finished["state"]["status"] == ChatStatus.CLOSED.value and finished["actor"]["id"] == str(op.operator_id)
    assert "written before the webhook existed" not in json.dumps(bodies)
    assert (await Webhook.get(id=webhook.id)).delivered_event_id == expected[-1]

    assert await tick() == 0
    assert len(receiver.answered) == len(expected)  # acknowledged: never again


async def test_silent_notes_go_only_to_a_webhook_made_to_receive_them_and_kinds_filter(db, clock, receiver):
    webhook, op, admin, channel = await scene(receiver)
    notes = await webhooks.create_webhook(admin, url=f"{receiver.url}/hook", targets=LOOPBACK,
                                          event_kinds=["MESSAGE_ADDED"], include_silent_notes=True)
    chat, _, _ = await start_chat(channel, "Hi")
    assert chat is not None
    await chats.answer_chat(op, chat_id=chat.id)
    await messages.send_message(op, chat_id=chat.id, text=SILENT, silent=True)

    await tick()

    signed_by_notes = [a.request.json for a in receiver.answered if a.request.headers["x-openchannels-signature"]
                       == sign(notes.secret, a.request.headers["x-openchannels-timestamp"], a.request.body)]
    assert [(b["kind"], b["message"]["text"], b["message"]["silent"]) for b in signed_by_notes] == [
        ("MESSAGE_ADDED", "Hi", False), ("MESSAGE_ADDED", SILENT, True)]
    others = [a.request for a in receiver.answered if a.request.json not in signed_by_notes]
    assert others and all(SILENT.encode() not in r.body for r in others)
    assert webhook.secret != notes.secret


async def test_a_receiver_that_fails_then_recovers_gets_every_event_once_acknowledged(db, clock, receiver):
    webhook, op, admin, channel = await scene(receiver)
    chat, _, _ = await start_chat(channel, "one")
    assert chat is not None
    await chats.answer_chat(op, chat_id=chat.id)
    for text in ("two", "three"):
        await messages.send_message(op, chat_id=chat.id, text=text)
    expected = await matching_event_ids(webhook)
    receiver.failures = [503, 500, 503]

    assert await tick() == 0  # the first event refused: nothing after it goes out
    first_try = await execute(DELIVERIES, admin, id=gid(webhook))
    assert first_try["webhooks"][0]["failing"] is True
    [edge] = first_try["webhookDeliveries"]["edges"]
    assert edge["node"]["eventId"] == str(expected[0]) and edge["node"]["attempts"] == 1
    assert edge["node"]["lastStatus"] == 503 and edge["node"]["deliveredAt"] is None
    assert edge["node"]["nextAttemptAt"].startswith("2030-01-01T00:00:01")  # 1 s, then 2 s, then 4 s

    assert await tick() == 0 and len(receiver.answered) == 1  # not before its time
    clock.advance(1)
    assert await tick() == 0  # 500
    clock.advance(1)
    assert await tick() == 0 and len(receiver.answered) == 2  # waits 2 s now
    clock.advance(1)
    assert await tick() == 0  # 503 again: 4 s
    clock.advance(4)
    assert await tick() == len(expected)

    assert [int(b["eventId"]) for b in receiver.acknowledged()] == expected
    assert [a.status for a in receiver.answered[:4]] == [503, 500, 503, 200]
    assert [a.request.json["eventId"] for a in receiver.answered[:4]] == [str(expected[0])] * 4
    after = await execute(DELIVERIES, admin, id=gid(webhook))
    assert after["webhooks"][0]["failing"] is False
    assert after["webhooks"][0]["deliveredEventId"] == str(expected[-1])
    newest_first = [e["node"] for e in after["webhookDeliveries"]["edges"]]
    assert [int(n["eventId"]) for n in newest_first] == list(reversed(expected))
    assert newest_first[-1]["attempts"] == 4 and newest_first[-1]["lastStatus"] == 200
    assert all(n["deliveredAt"] and n["nextAttemptAt"] is None for n in newest_first)


async def test_a_receiver_down_then_up_and_a_restart_lose_nothing(db, clock, receiver):
    """The cursor is in the database: the receiver down (connection refused), the server 'restarted'
    (nothing but the database carries over: a new tick with a new transport), every event arrives."""
    webhook, op, admin, channel = await scene(receiver)
    chat, _, _ = await start_chat(channel, "before the outage")
    assert chat is not None
    await tick()
    delivered_before = receiver.acknowledged()
    await receiver.stop()
    await chats.answer_chat(op, chat_id=chat.id)
    await messages.send_message(op, chat_id=chat.id, text="during the outage")
    assert await tick() == 0
    stored = await Webhook.get(id=webhook.id)
    assert stored.failing and stored.delivered_event_id == int(delivered_before[-1]["eventId"])
    [attempt] = (await execute(DELIVERIES, admin, id=gid(webhook)))["webhookDeliveries"]["edges"][:1]
    assert attempt["node"]["lastStatus"] is None  # it did not answer

    await receiver.start()
    await messages.send_message(op, chat_id=chat.id, text="after the outage")
    clock.advance(1)
    await tick()

    assert [int(b["eventId"]) for b in receiver.acknowledged()] == await matching_event_ids(webhook)
    texts = [b["message"]["text"] for b in receiver.acknowledged() if b["message"]]
    assert texts == ["before the outage", "during the outage", "after the outage"]


@pytest.mark.postgres_only
async def test_four_loops_at_once_deliver_each_event_once(db, clock, receiver):
    """One loop at a time per webhook (the lease on its row): the others pass it by."""
    webhook, op, admin, channel = await scene(receiver)
    chat, _, _ = await start_chat(channel, "Hello?")
    assert chat is not None
    await chats.answer_chat(op, chat_id=chat.id)
    for n in range(10):
        await messages.send_message(op, chat_id=chat.id, text=f"reply {n}")
    expected = await matching_event_ids(webhook)

    await asyncio.gather(*(tick() for _ in range(4)))
    await asyncio.gather(*(tick() for _ in range(4)))

    assert [int(a.request.json["eventId"]) for a in receiver.answered] == expected


async def test_replay_redelivers_every_matching_event_after_the_one_given(db, clock, receiver):
    webhook, op, admin, channel = await scene(receiver, event_kinds=["MESSAGE_ADDED"])
    chat, _, _ = await start_chat(channel, "first")
    assert chat is not None
    await chats.answer_chat(op, chat_id=chat.id)
    for text in ("second", "third"):
        await messages.send_message(op, chat_id=chat.id, text=text)
    await tick()
    bodies = receiver.acknowledged()
    assert [b["message"]["text"] for b in bodies] == ["first", "second", "third"]

    replayed = await execute(REPLAY, admin, input={"webhookId": gid(webhook), "after": bodies[0]["eventId"]})
    assert replayed["replayWebhook"]["userErrors"] == []
    assert replayed["replayWebhook"]["webhook"]["deliveredEventId"] == bodies[0]["eventId"]
    await tick()

    again = receiver.acknowledged()[3:]
    assert [b["eventId"] for b in again] == [b["eventId"] for b in bodies[1:]]  # the same ids: the receiver dedups
    bad = await execute(REPLAY, admin, input={"webhookId": gid(webhook), "after": "yesterday"})
    assert bad["replayWebhook"]["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_private_addresses_are_refused_without_the_setting(db, clock, receiver, platform):
    operator, op = await make_operator()
    _, admin = await make_admin()
    channel = await make_open_channel([operator], distribution=QueueDistribution.ALL, admin=admin)
    for url in (f"{receiver.url}/hook", "http://localhost:9/hook", "http://10.1.2.3/hook", "http://[::1]/hook",
                "http://169.254.169.254/latest/meta-data", "ftp://93.184.216.34/hook", "not a url"):
        with pytest.raises(InvalidInput) as refused:
            await webhooks.create_webhook(admin, url=url, targets=WebhookTargets())
        assert refused.value.field == ["input", "url"], url
    with pytest.raises(Forbidden):
        await webhooks.create_webhook(op, url=f"{receiver.url}/hook", targets=LOOPBACK)
    created = await execute(CREATE, admin, platform=platform, input={"url": f"{receiver.url}/hook"})
    assert created["createWebhook"]["webhook"] is None and created["createWebhook"]["secret"] is None
    assert created["createWebhook"]["userErrors"][0]["code"] == "INVALID_INPUT"
    assert await Webhook.all().count() == 0

    # made where it was allowed, delivered where it is not: checked at delivery time too
    webhook = await webhooks.create_webhook(admin, url=f"{receiver.url}/hook", targets=LOOPBACK)
    await start_chat(channel, "Hello")
    assert await scheduler.tick() == 0  # the default: no private addresses
    assert receiver.answered == []
    stored = await Webhook.get(id=webhook.id)
    assert stored.failing and stored.delivered_event_id == webhook.delivered_event_id


class Rebinding:
    """A name's resolver for the tests: answers `first` to the first question, then `later` (DNS rebinding)."""

    def __init__(self, first: list[str], later: list[str]) -> None:
        self.answers = [first, later]
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


class RecordingTransport:
    """Records each POST's URL, headers and extensions and answers 200 (no network)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict, dict]] = []

    async def post(self, url, *, content=None, json=None, headers=None, extensions=None):
        self.posts.append((url, dict(headers or {}), dict(extensions or {})))
        return Answer(200, b"{}")


async def test_a_name_is_checked_once_per_round_and_the_post_goes_to_the_checked_address(db, clock):
    """DNS rebinding: the name answers a public address to the check, then loopback. The POSTs go to
    the checked address with the name as Host and TLS server name; nothing resolves the name again."""
    operator, op = await make_operator()
    _, admin = await make_admin()
    channel = await make_open_channel([operator], distribution=QueueDistribution.ALL, admin=admin)
    resolver = Rebinding(first=["93.184.216.34"], later=["127.0.0.1"])
    targets = WebhookTargets(resolve=resolver)
    webhook = await webhooks.create_webhook(admin, url="https://hooks.example/in?x=1", targets=targets)
    resolver.asked.clear()
    resolver.answers = [["93.184.216.34"], ["127.0.0.1"]]
    await start_chat(channel, "Hello")
    await start_chat(channel, "Hello again")
    transport = RecordingTransport()

    delivered = await scheduler.tick(connectors=transport, webhooks=targets)

    assert delivered == len(transport.posts) >= 2 and resolver.asked == ["hooks.example"]
    assert {url for url, _, _ in transport.posts} == {"https://93.184.216.34/in?x=1"}
    assert all(headers["host"] == "hooks.example" for _, headers, _ in transport.posts)
    assert all(extensions == {"sni_hostname": "hooks.example"} for _, _, extensions in transport.posts)

    await start_chat(channel, "The next round")  # the next round asks again: now loopback, refused
    assert await scheduler.tick(connectors=transport, webhooks=targets) == 0
    assert resolver.asked == ["hooks.example", "hooks.example"] and len(transport.posts) == delivered
    assert (await Webhook.get(id=webhook.id)).failing


async def test_a_delivery_reaches_the_checked_address_over_real_http(db, clock, receiver):
    """A name only the check's resolver knows (.example never resolves) reaches the real receiver
    on the address it gave, with the name (and port) as the Host header."""
    operator, op = await make_operator()
    _, admin = await make_admin()
    channel = await make_open_channel([operator], distribution=QueueDistribution.ALL, admin=admin)
    targets = WebhookTargets(allow_private=True, resolve=Rebinding(first=["127.0.0.1"], later=["127.0.0.1"]))
    port = receiver.url.rsplit(":", 1)[1]
    await webhooks.create_webhook(admin, url=f"http://hooks.example:{port}/hook", targets=targets)
    await start_chat(channel, "Hello")

    assert await scheduler.tick(webhooks=targets) >= 1

    assert receiver.acknowledged() and receiver.acknowledged()[0]["kind"] == "CHAT_QUEUED"
    assert {a.request.headers["host"] for a in receiver.answered} == {f"hooks.example:{port}"}


def test_destinations_keep_port_path_and_credentials_and_bracket_ipv6():
    from infrastructure.webhook_targets import _pinned
    import ipaddress
    v6 = _pinned("https://user:pw@hooks.example:8443/a/b?c=d#f", ipaddress.ip_address("2606:2800:220:1::1"))
    assert v6.url == "https://user:pw@[2606:2800:220:1::1]:8443/a/b?c=d#f"
    assert v6.host_header == "hooks.example:8443" and v6.server_name == "hooks.example"
    literal = _pinned("http://[2606:2800:220:1::1]/x", ipaddress.ip_address("2606:2800:220:1::1"))
    assert literal.url == "http://[2606:2800:220:1::1]/x" and literal.host_header == "[2606:2800:220:1::1]"
    assert literal.server_name is None and literal.extensions == {}


async def test_the_registry_through_graphql_is_for_admins_and_shows_the_secret_once(db, receiver, platform):
    operator, op = await make_operator()
    _, admin = await make_admin()
    loopback = dataclasses.replace(platform, webhooks=LOOPBACK)
    created = await execute(CREATE, admin, platform=loopback, input={
        "url": f"{receiver.url}/hook", "eventKinds": ["chat_finished", "MESSAGE_ADDED"], "includeSilentNotes": False})
    payload = created["createWebhook"]
    assert payload["userErrors"] == [] and len(payload["secret"]) >= 32
    assert payload["webhook"]["eventKinds"] == ["CHAT_FINISHED", "MESSAGE_ADDED"]
    assert payload["webhook"]["failing"] is False and payload["webhook"]["active"] is True
    listed = await execute("{ webhooks { id url } }", admin)
    assert listed["webhooks"] == [{"id": payload["webhook"]["id"], "url": f"{receiver.url}/hook"}]
    assert "secret" not in json.dumps(listed)
    unknown = await execute(CREATE, admin, platform=loopback, input={"url": f"{receiver.url}/hook",
                                                                     "eventKinds": ["NOT_A_KIND"]})
    assert unknown["createWebhook"]["userErrors"][0]["field"] == ["input", "eventKinds"]

    refused = await execute_raw("{ webhooks { id } }", op)
    assert refused.errors[0].extensions["code"] == "FORBIDDEN"

    deleted = await execute(DELETE, admin, input={"webhookId": payload["webhook"]["id"]})
    assert deleted["deleteWebhook"]["webhook"]["id"] == payload["webhook"]["id"]
    assert deleted["deleteWebhook"]["secret"] is None
    assert (await execute("{ webhooks { id } }", admin))["webhooks"] == []
    again = await execute(DELETE, admin, input={"webhookId": payload["webhook"]["id"]})
    assert again["deleteWebhook"]["userErrors"][0]["code"] == "NOT_FOUND"


def gid(webhook: Webhook) -> str:
    return to_global_id("Webhook", webhook.id)


DELIVERIES = """query($id: ID!) {
  webhooks { id failing deliveredEventId }
  webhookDeliveries(webhookId: $id, first: 50) {
    edges { cursor node { eventId attempts lastStatus deliveredAt nextAttemptAt } } pageInfo { hasNextPage } }
}"""
CREATE = """mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
  webhook { id url eventKinds includeSilentNotes active failing deliveredEventId createdAt } secret
  userErrors { code field message } } }"""
DELETE = """mutation($input: WebhookInput!) { deleteWebhook(input: $input) {
  webhook { id } secret userErrors { code field message } } }"""
REPLAY = """mutation($input: ReplayWebhookInput!) { replayWebhook(input: $input) {
  webhook { id deliveredEventId } userErrors { code field message } } }"""


UPDATE = """mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) {
  webhook { id url eventKinds includeSilentNotes active failing } secret userErrors { code field message } } }"""


async def test_a_paused_webhook_gets_nothing_and_once_resumed_every_event_it_missed_in_order(
        db, clock, receiver, platform):
    webhook, op, admin, channel = await scene(receiver)
    loopback = dataclasses.replace(platform, webhooks=LOOPBACK)
    paused = await execute(UPDATE, admin, platform=loopback, input={"webhookId": gid(webhook), "active": False})
    assert paused["updateWebhook"]["webhook"]["active"] is False and paused["updateWebhook"]["secret"] is None
    chat, _, _ = await start_chat(channel, "Written while the webhook was paused")
    assert chat is not None
    await chats.answer_chat(op, chat_id=chat.id)
    expected = await matching_event_ids(webhook)

    assert await tick() == 0 and receiver.answered == []
    assert (await Webhook.get(id=webhook.id)).delivered_event_id == webhook.delivered_event_id

    resumed = await execute(UPDATE, admin, platform=loopback, input={"webhookId": gid(webhook), "active": True})
    assert resumed["updateWebhook"]["webhook"]["active"] is True
    assert await tick() == len(expected) >= 2
    assert [int(b["eventId"]) for b in receiver.acknowledged()] == expected
    assert "Written while the webhook was paused" in json.dumps(receiver.acknowledged())


async def test_changed_kinds_apply_to_what_is_not_delivered_yet_and_a_bad_change_changes_nothing(
        db, clock, receiver, platform):
    webhook, op, admin, channel = await scene(receiver)
    loopback = dataclasses.replace(platform, webhooks=LOOPBACK)
    changed = await execute(UPDATE, admin, platform=loopback, input={
        "webhookId": gid(webhook), "eventKinds": ["chat_answered"], "includeSilentNotes": True})
    assert changed["updateWebhook"]["webhook"]["eventKinds"] == ["CHAT_ANSWERED"]
    assert changed["updateWebhook"]["webhook"]["includeSilentNotes"] is True

    refused = await execute(UPDATE, admin, platform=platform, input={  # the default: no private addresses
        "webhookId": gid(webhook), "url": "http://10.1.2.3/hook", "active": False})
    assert refused["updateWebhook"]["webhook"] is None
    assert refused["updateWebhook"]["userErrors"][0]["code"] == "INVALID_INPUT"
    assert refused["updateWebhook"]["userErrors"][0]["field"] == ["input", "url"]
    unknown_kind = await execute(UPDATE, admin, platform=loopback, input={
        "webhookId": gid(webhook), "eventKinds": ["NOT_A_KIND"], "active": False})
    assert unknown_kind["updateWebhook"]["userErrors"][0]["field"] == ["input", "eventKinds"]
    stored = await Webhook.get(id=webhook.id)
    assert (stored.url, stored.event_kinds, stored.active) == (webhook.url, ["CHAT_ANSWERED"], True)

    chat, _, _ = await start_chat(channel, "Hello")
    assert chat is not None
    await chats.answer_chat(op, chat_id=chat.id)
    assert await tick() == 1
    assert [b["kind"] for b in receiver.acknowledged()] == ["CHAT_ANSWERED"]

    gone = await execute(UPDATE, admin, platform=loopback, input={"webhookId": to_global_id("Webhook", 10 ** 6),
                                                                  "active": True})
    assert gone["updateWebhook"]["userErrors"][0]["code"] == "NOT_FOUND"
    not_admin = await execute(UPDATE, op, platform=loopback, input={"webhookId": gid(webhook), "active": False})
    assert not_admin["updateWebhook"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert (await Webhook.get(id=webhook.id)).active is True


class SlowTransport:
    """Answers 200, each POST taking `seconds` of the services' clock; `during(n)` runs inside the n-th POST."""

    def __init__(self, clock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds
        self.posts: list[int] = []
        self.during: dict[int, object] = {}

    async def post(self, url, *, content=None, json=None, headers=None, extensions=None):
        self.posts.append(int((headers or {})["x-openchannels-event-id"]))
        self.clock.advance(self.seconds)
        inside = self.during.pop(len(self.posts), None)
        if inside is not None:
            await inside()  # type: ignore[operator]
        return Answer(200, b"{}")


async def test_a_round_longer_than_the_lease_keeps_it_and_no_other_loop_sends_meanwhile(db, clock):
    """Each POST takes 40 s, so the round outlasts the 60 s lease: it is renewed before each POST by
    the loop that holds it, so a second loop starting in the middle of the round passes the webhook by."""
    operator, op = await make_operator()
    _, admin = await make_admin()
    channel = await make_open_channel([operator], distribution=QueueDistribution.ALL, admin=admin)
    webhook = await webhooks.create_webhook(admin, url="http://127.0.0.1:9/hook", targets=LOOPBACK)
    chat, _, _ = await start_chat(channel, "Hello?")
    assert chat is not None
    await chats.answer_chat(op, chat_id=chat.id)
    for n in range(3):
        await messages.send_message(op, chat_id=chat.id, text=f"reply {n}")
    expected = await matching_event_ids(webhook)
    slow, other = SlowTransport(clock, 40), SlowTransport(clock, 0)

    async def second_loop() -> None:  # 80 s into the round: past the first lease's expiry
        assert await webhook_delivery.deliver(other, LOOPBACK) == 0

    slow.during[2] = second_loop

    assert await webhook_delivery.deliver(slow, LOOPBACK) == len(expected) >= 4
    assert other.posts == [] and slow.posts == expected  # every event once, in order
    stored = await Webhook.get(id=webhook.id)
    assert stored.delivering_until is None and stored.delivered_event_id == expected[-1]


async def test_an_event_refused_holds_back_only_its_own_chat_the_others_go_on(db, clock, receiver, platform):
    """The receiver refuses every event of one chat: that chat's later events wait behind the refused
    one (never sent before it), while another chat's events are delivered meanwhile; once the receiver
    takes the held chat again its events arrive in order, each acknowledged once."""
    webhook, op, admin, channel = await scene(receiver)
    held, _, _ = await start_chat(channel, "held 1")
    other, _, _ = await start_chat(channel, "other 1")
    assert held is not None and other is not None
    receiver.refused_chats[str(held.id)] = 422
    await chats.answer_chat(op, chat_id=held.id)
    await messages.send_message(op, chat_id=held.id, text="held 2")
    await chats.answer_chat(op, chat_id=other.id)
    await messages.send_message(op, chat_id=other.id, text="other 2")

    await tick()

    assert [b["chatId"] for b in receiver.acknowledged()] == [str(other.id)] * len(await kinds_of(other.id, webhook))
    assert [b["kind"] for b in receiver.acknowledged()] == await kinds_of(other.id, webhook)
    refused = [a.request.json for a in receiver.answered if a.status == 422]
    assert [b["kind"] for b in refused] == ["CHAT_QUEUED"]  # the held chat's first event only
    state = await execute(DELIVERIES, admin, id=gid(webhook))
    assert state["webhooks"][0]["failing"] is True
    assert [e["node"]["lastStatus"] for e in state["webhookDeliveries"]["edges"]].count(422) == 1

    await messages.send_message(op, chat_id=other.id, text="other 3")  # the other chat goes on
    await messages.send_message(op, chat_id=held.id, text="held 3")  # this one waits its turn
    clock.advance(1)
    await tick()
    assert "other 3" in json.dumps(receiver.acknowledged())
    assert [b["kind"] for b in (a.request.json for a in receiver.answered if a.status == 422)] == ["CHAT_QUEUED"] * 2
    assert all(b["chatId"] != str(held.id) for b in receiver.acknowledged())

    del receiver.refused_chats[str(held.id)]
    assert await tick() == 0  # its next attempt is not due yet (2 s after the second refusal)
    clock.advance(2)
    await tick()

    of_held = [b for b in receiver.acknowledged() if b["chatId"] == str(held.id)]
    assert [b["kind"] for b in of_held] == await kinds_of(held.id, webhook)  # every one, once, in order
    assert [b["message"]["text"] for b in of_held if b["message"] and b["message"]["authorKind"] != "SYSTEM"][:3] \
        == ["held 1", "held 2", "held 3"]
    of_other = [b for b in receiver.acknowledged() if b["chatId"] == str(other.id)]
    assert [b["kind"] for b in of_other] == await kinds_of(other.id, webhook)
    assert (await execute(DELIVERIES, admin, id=gid(webhook)))["webhooks"][0]["failing"] is False
    assert await tick() == 0 and len(receiver.acknowledged()) == len(await matching_event_ids(webhook))


async def test_the_payload_carries_the_chats_labels_and_its_clients_attributes(db, clock, receiver):
    from services.chats import labels
    from services.contact_center import client_attributes

    webhook, op, admin, channel = await scene(receiver, event_kinds=["LABELS_CHANGED", "MESSAGE_ADDED"])
    chat, _, _ = await start_chat(channel, "Hello")
    assert chat is not None and chat.client_id is not None
    await chats.answer_chat(op, chat_id=chat.id)
    vip = await labels.create_label(admin, name="VIP", color="#aa0000")
    billing = await labels.create_label(admin, name="Billing", color="#00aa00")
    await labels.set_chat_labels(op, chat_id=chat.id, label_ids=[vip.id, billing.id])
    await client_attributes.set_client_attributes(op, client_id=chat.client_id,
                                                  attributes=[("plan", "gold"), ("customer_id", "42")])
    await messages.send_message(op, chat_id=chat.id, text="Noted.")

    await tick()

    bodies = receiver.acknowledged()
    assert [b["kind"] for b in bodies] == ["MESSAGE_ADDED", "LABELS_CHANGED", "MESSAGE_ADDED"]
    for body in bodies:  # as they are at the delivery
        assert body["state"]["labels"] == ["Billing", "VIP"]
        assert body["state"]["clientAttributes"] == {"customer_id": "42", "plan": "gold"}


async def test_resuming_or_replaying_tries_a_held_chat_again_at_once(db, clock, receiver, platform):
    webhook, op, admin, channel = await scene(receiver)
    loopback = dataclasses.replace(platform, webhooks=LOOPBACK)
    chat, _, _ = await start_chat(channel, "refused for now")
    assert chat is not None
    receiver.refused_chats[str(chat.id)] = 500
    await tick()
    clock.advance(1)
    await tick()  # refused twice: its next attempt 2 s away
    del receiver.refused_chats[str(chat.id)]
    assert await tick() == 0

    resumed = await execute(UPDATE, admin, platform=loopback, input={"webhookId": gid(webhook), "active": True})
    assert resumed["updateWebhook"]["userErrors"] == []
    assert await tick() == len(await matching_event_ids(webhook)) >= 1  # at once, not 2 s later
    assert [b["message"]["text"] for b in receiver.acknowledged() if b["message"]][:1] == ["refused for now"]

    receiver.refused_chats[str(chat.id)] = 500
    await chats.answer_chat(op, chat_id=chat.id)
    await messages.send_message(op, chat_id=chat.id, text="refused again")
    await tick()
    del receiver.refused_chats[str(chat.id)]
    first = receiver.acknowledged()[0]["eventId"]
    replayed = await execute(REPLAY, admin, input={"webhookId": gid(webhook), "after": first})
    assert replayed["replayWebhook"]["userErrors"] == []
    assert await tick() >= 1
    assert "refused again" in json.dumps(receiver.acknowledged())
    assert (await execute(DELIVERIES, admin, id=gid(webhook)))["webhooks"][0]["failing"] is False
