"""Identical graphql-transport-ws subscriptions of one viewer run once (openchannels/shared_subscriptions.py):
one execution per event for the group, each member gets its own `next` frame; other viewers,
other documents and resumed (`after`) subscriptions run on their own."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from strawberry.types.execution import ExecutionResult

from tests.graphql.helpers import execute  # noqa: F401 - imports the schema before its resolvers
from openchannels.shared_subscriptions import FAN_OUT_SLICE, SharedSubscriptions, shared_subscriptions
from openchannels.websocket_handlers import LimitedTransportWSHandler
from resolvers.context import Context
from schema import schema
from resolvers.ids import to_global_id
from models import OperatorRole
from services.chats import chats
from services.messaging import messages
from tests.factories import make_open_channel, make_operator, start_chat
from infrastructure.settings import plain_execution_enabled
from tests.engine import fast_path_only
from infrastructure.broker import broker_in_use

CHAT_EVENTS = """subscription ($c: ID!) { chatEvents(chatId: $c) { kind message { text silent } } }"""
RESUMED = """subscription ($c: ID!, $after: String) { chatEvents(chatId: $c, after: $after) { kind message { text } } }"""


class _View:
    def encode_json_string(self, data: object) -> str:
        return json.dumps(data, separators=(",", ":"))


class _Socket:
    """What the handler sends, decoded."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None
        #: how many results each write of a shared subscription held
        self.writes: list[int] = []

    def send_encoded(self, text: str) -> None:
        self.sent.append(json.loads(text))

    def send_batch(self, batch, prefix: str) -> None:
        texts = batch.texts(prefix)
        self.writes.append(len(texts))
        self.sent.extend(json.loads(text) for text in texts)

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent.append(json.loads(json.dumps(message)))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def nexts(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == "next"]


def _connection(viewer, platform=None) -> tuple[LimitedTransportWSHandler, _Socket]:
    socket = _Socket()
    handler = LimitedTransportWSHandler(_View(), socket, Context(viewer=viewer, platform=platform), None, schema,
                                        timedelta(seconds=10), 20)
    handler.connection_acknowledged = True
    handler._visitor_subject = None  # set by handle(), which these tests do not run (no socket to read)
    return handler, socket


async def _subscribe(handler, operation_id: str, query: str, variables: dict[str, Any]) -> None:
    await handler.handle_message({"type": "subscribe", "id": operation_id,
                                  "payload": {"query": query, "variables": variables}})


async def _until(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def _following() -> int:
    """How many streams now follow the event log in this process."""
    broker = broker_in_use()
    assert broker is not None
    return broker.hub.subscriber_count


async def _until_following(before: int, streams: int) -> None:
    """Until `streams` more follow the log than `before`: an event committed from then on reaches
    them (a fixed sleep loses that race on a loaded machine: the subscription first reads who may
    see the chat)."""
    await _until(lambda: _following() >= before + streams)


async def _stop(*handlers) -> None:
    for handler in handlers:
        for operation_id in list(handler.operations):
            await handler.handle_message({"type": "complete", "id": operation_id})
    await asyncio.sleep(0.05)


async def _on_chat_events(chat, *viewers) -> list[tuple[LimitedTransportWSHandler, _Socket]]:
    """A connection per viewer, each subscribed to the chat's events with the same document."""
    before = _following()
    connections = [_connection(viewer) for viewer in viewers]
    for handler, _ in connections:
        await _subscribe(handler, "1", CHAT_EVENTS, {"c": to_global_id("Chat", chat.id)})
    # one stream per group of identical subscriptions of one viewer; off: one per subscription
    await _until_following(before, len(set(viewers)) if plain_execution_enabled() else len(viewers))
    return connections


async def _answered_chat():
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    chat, visitor, _ = await start_chat(channel, name="Ana")
    await chats.answer_chat(me, chat_id=chat.id)
    return me, visitor, chat


@fast_path_only
async def test_ten_identical_subscriptions_execute_once_per_event(db):
    me, _, chat = await _answered_chat()
    before = _following()
    connections = [_connection(me) for _ in range(10)]
    for index, (handler, _) in enumerate(connections):
        await _subscribe(handler, f"op{index}", CHAT_EVENTS, {"c": to_global_id("Chat", chat.id)})
    await _until_following(before, 1)  # the group follows the live stream
    groups = list(shared_subscriptions._groups.values())
    assert len(groups) == 1 and len(groups[0].members) == 10

    await messages.send_message(me, chat_id=chat.id, text="to ten")
    await _until(lambda: all(socket.nexts() for _, socket in connections))

    assert groups[0].results == 1  # executed and encoded once for the ten
    for index, (_, socket) in enumerate(connections):
        [frame] = socket.nexts()
        assert frame["id"] == f"op{index}"
        assert frame["payload"] == {"data": {"chatEvents": {"kind": "MESSAGE_ADDED",
                                                            "message": {"text": "to ten", "silent": False}}}}
    await _stop(*(handler for handler, _ in connections))
    assert len(shared_subscriptions) == 0  # the last member's leaving ends the group


@fast_path_only
async def test_a_large_group_lets_the_process_s_other_work_run_while_it_fans_out(db):
    """A group of more than one slice: another task of the process runs between two slices of one
    event's fan-out (written in one go, it waited until every member had the event), and every
    member still gets the event once, and the next one after it."""
    me, _, chat = await _answered_chat()
    connections = await _on_chat_events(chat, *[me] * (2 * FAN_OUT_SLICE + 1))
    sockets = [socket for _, socket in connections]
    had_it: list[int] = []  # members with the event each time the other task ran

    async def other_work() -> None:
        while not all(socket.nexts() for socket in sockets):
            had_it.append(sum(1 for socket in sockets if socket.nexts()))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(other_work())
    await messages.send_message(me, chat_id=chat.id, text="to many")
    await asyncio.wait_for(watcher, 30)
    between = sorted({count for count in had_it if 0 < count < len(sockets)})
    assert between and all(count % FAN_OUT_SLICE == 0 for count in between)  # it ran between slices

    await messages.send_message(me, chat_id=chat.id, text="and again")
    await _until(lambda: all(len(socket.nexts()) == 2 for socket in sockets))
    for socket in sockets:
        assert [f["payload"]["data"]["chatEvents"]["message"]["text"] for f in socket.nexts()] == ["to many", "and again"]
    await _stop(*(handler for handler, _ in connections))
    assert len(shared_subscriptions) == 0


async def test_other_viewers_get_their_own_results(db):
    """A visitor and an operator on the same chat and document: two groups; the silent note is the operator's only."""
    me, visitor, chat = await _answered_chat()
    (mine, my_socket), (theirs, their_socket) = await _on_chat_events(chat, me, visitor)
    assert len(shared_subscriptions) == (2 if plain_execution_enabled() else 0)  # off: nothing is shared

    await messages.send_message(me, chat_id=chat.id, text="note", silent=True)
    await messages.send_message(me, chat_id=chat.id, text="hello")
    await _until(lambda: len(my_socket.nexts()) == 2 and len(their_socket.nexts()) == 1)
    await asyncio.sleep(0.1)

    assert [f["payload"]["data"]["chatEvents"]["message"]["text"] for f in my_socket.nexts()] == ["note", "hello"]
    assert [f["payload"]["data"]["chatEvents"]["message"]["text"] for f in their_socket.nexts()] == ["hello"]
    await _stop(mine, theirs)


async def test_a_member_leaving_does_not_stop_the_others(db):
    me, _, chat = await _answered_chat()
    (first, first_socket), (second, second_socket) = await _on_chat_events(chat, me, me)
    await _stop(first)  # the group's first member (whose context runs the stream) leaves

    await messages.send_message(me, chat_id=chat.id, text="still here")
    await _until(lambda: second_socket.nexts())
    assert second_socket.nexts()[0]["payload"]["data"]["chatEvents"]["message"]["text"] == "still here"
    assert first_socket.nexts() == []
    await _stop(second)


async def test_resumed_subscriptions_run_alone(db):
    """`after` replays a backlog from a position of its own: never shared."""
    me, _, chat = await _answered_chat()
    variables = {"c": to_global_id("Chat", chat.id), "after": None}
    before = _following()
    connections = [_connection(me) for _ in range(2)]
    for handler, _ in connections:
        await _subscribe(handler, "1", RESUMED, variables)
    await _until_following(before, 2)  # a stream each
    assert len(shared_subscriptions) == 0

    await messages.send_message(me, chat_id=chat.id, text="each alone")
    await _until(lambda: all(socket.nexts() for _, socket in connections))
    await _stop(*(handler for handler, _ in connections))


@fast_path_only
async def test_a_subscription_that_starts_with_the_state_now_runs_alone(db, platform):
    """visitorQueue's first result is the chat's standing now: a second tab gets it too (joining a
    running group, it would wait for the next change)."""
    operator, _ = await make_operator()
    channel = await make_open_channel([operator])
    chat, visitor, _ = await start_chat(channel)
    connections = [_connection(visitor, platform) for _ in range(2)]
    for handler, _ in connections:
        await _subscribe(handler, "1", "subscription { visitorQueue { chatId queuePosition } }", {})
    await _until(lambda: all(socket.nexts() for _, socket in connections))
    assert len(shared_subscriptions) == 0
    for _, socket in connections:
        assert socket.nexts()[0]["payload"]["data"]["visitorQueue"] == {
            "chatId": to_global_id("Chat", chat.id), "queuePosition": 1}
    await _stop(*(handler for handler, _ in connections))


@fast_path_only
async def test_the_wallboard_starts_with_the_figures_now_on_every_tab(db, platform):
    """The wallboard's first result is the figures now: a second tab of the same supervisor gets it
    too (joining a running group, it would wait for the next change)."""
    operator, _ = await make_operator()
    channel = await make_open_channel([operator])
    _, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)
    connections = [_connection(supervisor, platform) for _ in range(2)]
    document = "subscription { wallboard { openChannel { id } queued operatorsOnline } }"
    for handler, _ in connections:
        await _subscribe(handler, "1", document, {})
    await _until(lambda: all(socket.nexts() for _, socket in connections))
    assert len(shared_subscriptions) == 0
    for _, socket in connections:
        assert socket.nexts()[0]["payload"]["data"]["wallboard"] == [
            {"openChannel": {"id": to_global_id("OpenChannel", channel.id)}, "queued": 0, "operatorsOnline": 1}]
    await _stop(*(handler for handler, _ in connections))


async def test_a_subscription_that_fails_at_start_fails_for_every_member(db):
    """The start-time check (the chat must be visible) fails the group: each member gets the error, then complete."""
    me, _, chat = await _answered_chat()
    _, stranger = await make_operator()
    connections = [_connection(stranger) for _ in range(3)]
    for handler, _ in connections:
        await _subscribe(handler, "1", CHAT_EVENTS, {"c": to_global_id("Chat", chat.id)})
    await _until(lambda: all(any(m["type"] == "complete" for m in socket.sent) for _, socket in connections))
    for handler, socket in connections:
        [frame] = socket.nexts()
        assert frame["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # an invisible chat is not found
        assert handler.operations == {}
    assert len(shared_subscriptions) == 0


class _Burst:
    """A group's stream as a test drives it: result 1, then result 2 once `second` is set, then its end."""

    def __init__(self) -> None:
        self.second = asyncio.Event()

    async def stream(self, query: str, **_: Any):
        async def results():
            yield ExecutionResult(data={"n": 1}, errors=None)
            await self.second.wait()
            yield ExecutionResult(data={"n": 2}, errors=None)
        return results()


class _Member:
    """A connection of the group as SharedStream sees it: its socket, and when its group's end reached it."""

    def __init__(self, schema: _Burst, on_write=None) -> None:
        self.schema, self.context, self.view = schema, None, _View()
        self.websocket = _Socket()
        self.ended_after: int | None = None  # how many results it had been sent when its group ended
        if on_write is not None:
            send_batch = self.websocket.send_batch

            def written(batch, prefix: str) -> None:
                send_batch(batch, prefix)
                on_write()
            self.websocket.send_batch = written  # type: ignore[method-assign]

    def shared_ended(self, operation: Any, ending: Any) -> None:
        self.ended_after = len(self.websocket.nexts())


async def test_a_result_ready_during_a_fan_out_goes_out_with_the_one_before_it():
    """One commit often makes two results (a chat queued, then offered). When the second is ready while the
    first is still going out, the members not yet written to get both in one write and the members before
    them get the second in a second pass: every member gets each result once, in order, and the group ends
    only after that."""
    burst = _Burst()
    members = [_Member(burst, on_write=burst.second.set)] + [_Member(burst) for _ in range(3 * FAN_OUT_SLICE - 1)]
    groups = SharedSubscriptions()
    for member in members:
        operation = SimpleNamespace(id="1", query="subscription { n }", variables={}, operation_name=None,
                                    completed=False)
        group, _ = groups.join("key", member, operation)
    await asyncio.wait_for(group.ended, 10)
    await asyncio.sleep(0)

    for member in members:
        assert [m["payload"]["data"]["n"] for m in member.websocket.nexts()] == [1, 2]
        assert member.ended_after == 2
    writes = [member.websocket.writes for member in members]
    assert writes[:FAN_OUT_SLICE] == [[1, 1]] * FAN_OUT_SLICE  # the first slice went out before result 2 was ready
    assert writes[FAN_OUT_SLICE:] == [[2]] * (2 * FAN_OUT_SLICE)  # the rest got both results in one write
    assert group.results == 2 and len(groups) == 0


async def test_a_fan_out_that_fails_ends_the_group_with_its_error():
    """Sending that fails (a bug, not a slow client: that one is closed by its own queue) ends the group as a
    failing stream does: every member gets the error, and the stream stops."""
    burst = _Burst()
    members = [_Member(burst) for _ in range(3)]

    def broken(batch, prefix: str) -> None:
        raise RuntimeError("cannot send")
    members[1].websocket.send_batch = broken  # type: ignore[method-assign]
    groups = SharedSubscriptions()
    for member in members:
        operation = SimpleNamespace(id="1", query="subscription { n }", variables={}, operation_name=None,
                                    completed=False)
        group, _ = groups.join("key", member, operation)
    ending = await asyncio.wait_for(group.ended, 10)

    assert isinstance(ending.error, RuntimeError)
    assert [member.ended_after for member in members] == [1, 0, 0]  # told once each; the first had result 1
    assert len(groups) == 0
