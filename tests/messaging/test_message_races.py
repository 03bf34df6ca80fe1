"""editMessage and deleteMessage racing each other, on PostgreSQL (real row locks, real concurrency).

Both used to read the message before taking the chat's lock: an edit that read "not deleted"
wrote its text into a message deleted meanwhile (the visitor read it back), and every delete
that read "not deleted" recorded a MESSAGE_DELETED of its own. Each change is now an UPDATE
conditional on `NOT deleted`: the row count says who won, and only the winner records an event.
"""
from __future__ import annotations

import asyncio

import pytest

from models import Event, Message
from services.messaging import messaging
from services.messaging import messages
from services.common.errors import DomainError, InvalidState
from tests.graphql.helpers import execute
from tests.messaging.worlds import answered_chat

pytestmark = pytest.mark.postgres_only

ROUNDS = 15
VISITOR_HISTORY = "{ visitorChat { messages(last: 50) { edges { node { id text deleted } } } } }"


async def _deleted_events(message_id: int) -> int:
    return await Event.filter(message_id=message_id, kind="MESSAGE_DELETED").count()


async def _assert_deleted_for_everyone(w, message_id: int, visitor_texts: list[str]) -> None:
    stored = await Message.get(id=message_id)
    assert (stored.deleted, stored.text) == (True, ""), (stored.deleted, stored.text)
    assert await _deleted_events(message_id) == 1
    history = (await execute(VISITOR_HISTORY, w.visitor))["visitorChat"]["messages"]["edges"]
    shown = [e["node"] for e in history if e["node"]["deleted"]]
    assert all(node["text"] == "" for node in shown), shown
    leaked = [t for t in visitor_texts if any(t in e["node"]["text"] for e in history)]
    assert not leaked, leaked


async def test_an_edit_racing_a_delete_never_brings_the_text_back(db, platform):
    w = await answered_chat()
    for round_ in range(ROUNDS):
        sent = await messages.send_message(w.me, chat_id=w.chat.id, text=f"original {round_}")
        edit = messaging.edit_message(w.me, message_id=sent.id, text=f"edited-secret {round_}")
        delete = messaging.delete_message(w.me, message_id=sent.id, storage=platform.files.storage)
        # both orders of start: either may reach the database first
        results = await asyncio.gather(*((edit, delete) if round_ % 2 else (delete, edit)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(f, InvalidState) for f in failures), failures  # the loser is told, nothing breaks
        await _assert_deleted_for_everyone(w, sent.id, [f"edited-secret {round_}", f"original {round_}"])
        edited = await Event.filter(message_id=sent.id, kind="MESSAGE_EDITED").count()
        assert edited == (0 if failures else 1)  # an edit that lost changed nothing and told no one


async def test_many_deletes_of_one_message_record_one_event(db, platform):
    w = await answered_chat()
    for round_ in range(ROUNDS):
        sent = await messages.send_message(w.me, chat_id=w.chat.id, text=f"double click {round_}")
        results = await asyncio.gather(*(messaging.delete_message(w.me, message_id=sent.id, storage=platform.files.storage) for _ in range(4)),
                                       return_exceptions=True)
        won = [r for r in results if isinstance(r, Message)]
        lost = [r for r in results if not isinstance(r, Message)]
        assert len(won) == 1, results
        assert all(isinstance(r, InvalidState) and r.field == ["input", "messageId"] for r in lost), lost
        await _assert_deleted_for_everyone(w, sent.id, [f"double click {round_}"])


async def test_edits_racing_edits_each_win_once_and_the_last_text_stays(db):
    w = await answered_chat()
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="v0")
    results = await asyncio.gather(*(messaging.edit_message(w.me, message_id=sent.id, text=f"v{i}")
                                     for i in range(1, 6)), return_exceptions=True)
    assert not [r for r in results if isinstance(r, DomainError)], results
    stored = await Message.get(id=sent.id)
    assert stored.deleted is False and stored.text in {f"v{i}" for i in range(1, 6)}
    assert await Event.filter(message_id=sent.id, kind="MESSAGE_EDITED").count() == 5
