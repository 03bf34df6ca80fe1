"""queueChanged follows who the viewer is now: a WebSocket's viewer follows its token
(services/identity/live_tokens.py), and a supervisor demoted to operator gets only their own queues'
events from the next event on, as a subscription started after the demotion would."""
from __future__ import annotations

import asyncio

from models import OperatorRole
from services.events import subscriptions
from services.identity.viewer import Viewer
from tests.factories import make_open_channel, make_operator, start_chat


async def test_a_supervisor_demoted_mid_stream_gets_only_their_own_queues_from_the_next_event(db):
    supervisor, as_supervisor = await make_operator(role=OperatorRole.SUPERVISOR)
    colleague, _ = await make_operator()
    own, other = await make_open_channel([supervisor]), await make_open_channel([colleague])
    viewer_now = [as_supervisor]
    stream = subscriptions.queue_events(as_supervisor, None, "0", lambda: viewer_now[0])
    before, _, _ = await start_chat(other)

    first = (await asyncio.wait_for(stream.__anext__(), 5)).event
    viewer_now[0] = Viewer(operator_id=supervisor.id, role=OperatorRole.OPERATOR)  # demoted
    hidden, _, _ = await start_chat(other)
    mine, _, _ = await start_chat(own)
    following = [(await asyncio.wait_for(stream.__anext__(), 5)).event]
    while following[-1].chat_id != mine.id:
        following.append((await asyncio.wait_for(stream.__anext__(), 5)).event)
    await stream.aclose()

    assert (first.open_channel_id, first.chat_id) == (other.id, before.id)  # a supervisor's view
    assert hidden.id not in [event.chat_id for event in following]
    assert {event.open_channel_id for event in following} == {own.id}
