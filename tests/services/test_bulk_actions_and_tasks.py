"""Bulk chat actions (each chat through the single action, its own transaction and result) and
task updates, through the services on both backends."""
from __future__ import annotations

import pytest

from models import ChatPriority, ChatStatus, Chat, Event, OperatorRole, QueueDistribution, Task, TaskStatus
from services.chats import chats, labels
from services.common.errors import Forbidden, InvalidInput, NotFound
from services.contact_center.bulk_actions import MAX_CHATS, BulkChatAction, bulk_chat_action
from services.messaging import messages, tasks
from tests.factories import make_admin, make_open_channel, make_operator, snapshot, start_chat


async def _world():
    me, me_v = await make_operator("Me")
    colleague, colleague_v = await make_operator("Colleague")
    stranger, stranger_v = await make_operator("Stranger")
    channel = await make_open_channel([me, colleague], distribution=QueueDistribution.ALL)
    other = await make_open_channel([stranger])
    mine = []
    for name in ("Mine 1", "Mine 2"):
        chat, _, _ = await start_chat(channel, name=name)
        await chats.answer_chat(me_v, chat_id=chat.id)
        mine.append(chat)
    theirs, _, _ = await start_chat(channel, name="Colleague's")
    await chats.answer_chat(colleague_v, chat_id=theirs.id)
    elsewhere, _, _ = await start_chat(other, name="Elsewhere")
    return me_v, colleague_v, mine, theirs, elsewhere


async def test_a_bulk_finish_does_what_it_may_and_reports_each_chat_on_its_own(db):
    me_v, _, (first, second), theirs, elsewhere = await _world()
    untouched = {c.id: await snapshot(c.id) for c in (theirs, elsewhere)}
    untouched = {k: {**v, "events": None} for k, v in untouched.items()}

    results = await bulk_chat_action(me_v, chat_ids=[first.id, theirs.id, elsewhere.id, 999_999, second.id, first.id],
                                     action=BulkChatAction.FINISH)

    assert [(r.chat_id, r.error.code if r.error else None) for r in results] == [
        (first.id, None), (theirs.id, "FORBIDDEN"), (elsewhere.id, "NOT_FOUND"), (999_999, "NOT_FOUND"),
        (second.id, None)]
    assert [r.chat.status for r in results if r.chat] == [ChatStatus.CLOSED, ChatStatus.CLOSED]
    # each chat in its own transaction: the second was finished after refusals, the first was kept
    assert {c.id: c.status for c in await Chat.filter(id__in=[first.id, second.id])} == {
        first.id: ChatStatus.CLOSED, second.id: ChatStatus.CLOSED}
    for chat_id, before in untouched.items():
        assert {**await snapshot(chat_id), "events": None} == before
    finished = await Event.filter(kind="CHAT_FINISHED").order_by("id").values_list("chat_id", flat=True)
    assert finished == [first.id, second.id]


async def test_a_bulk_priority_and_labels_and_spam_use_the_single_actions(db):
    me_v, colleague_v, (first, second), theirs, _ = await _world()
    _, admin_v = await make_admin()
    vip = await labels.create_label(admin_v, name="VIP", color="#FFD700")

    results = await bulk_chat_action(me_v, chat_ids=[first.id, theirs.id], action=BulkChatAction.SET_PRIORITY,
                                     priority=ChatPriority.URGENT)
    assert [r.error.code if r.error else r.chat.priority for r in results] == [ChatPriority.URGENT, "FORBIDDEN"]
    assert await Event.filter(kind="PRIORITY_CHANGED").values_list("chat_id", flat=True) == [first.id]

    results = await bulk_chat_action(colleague_v, chat_ids=[theirs.id, first.id], action=BulkChatAction.SET_LABELS,
                                     label_ids=[vip.id])
    assert [r.error.code if r.error else None for r in results] == [None, "FORBIDDEN"]
    assert await Event.filter(kind="LABELS_CHANGED").values_list("chat_id", flat=True) == [theirs.id]

    results = await bulk_chat_action(me_v, chat_ids=[second.id], action=BulkChatAction.MARK_SPAM)
    assert results[0].chat.status == ChatStatus.SPAM


async def test_bad_bulk_input_changes_no_chat(db):
    me_v, _, (first, second), theirs, _ = await _world()
    before = {c.id: await snapshot(c.id) for c in (first, second, theirs)}
    refused = [
        dict(chat_ids=[first.id] * 2 + list(range(10_000, 10_000 + MAX_CHATS)), action=BulkChatAction.FINISH),
        dict(chat_ids=[], action=BulkChatAction.FINISH),
        dict(chat_ids=[first.id], action=BulkChatAction.SET_PRIORITY),
        dict(chat_ids=[first.id], action=BulkChatAction.SET_LABELS),
        dict(chat_ids=[first.id], action=BulkChatAction.TRANSFER),
        dict(chat_ids=[first.id], action=BulkChatAction.FINISH, priority=ChatPriority.HIGH),
    ]
    for arguments in refused:
        with pytest.raises(InvalidInput):
            await bulk_chat_action(me_v, **arguments)
    with pytest.raises(NotFound):  # an unknown label: refused before any chat
        await bulk_chat_action(me_v, chat_ids=[first.id, second.id], action=BulkChatAction.SET_LABELS,
                               label_ids=[999_999])
    _, visitor_v, _ = await start_chat(await make_open_channel([]))
    with pytest.raises(Forbidden):
        await bulk_chat_action(visitor_v, chat_ids=[first.id], action=BulkChatAction.FINISH)
    after = {c.id: await snapshot(c.id) for c in (first, second, theirs)}
    assert {k: {**v, "events": 0, "chats": 0} for k, v in after.items()} == \
        {k: {**v, "events": 0, "chats": 0} for k, v in before.items()}
    assert await Chat.filter(status=ChatStatus.ACTIVE).count() == 3


async def test_exactly_one_hundred_chats_are_accepted(db):
    me_v, _, (first, _), _, _ = await _world()
    results = await bulk_chat_action(me_v, chat_ids=[first.id, *range(50_000, 50_000 + MAX_CHATS - 1)],
                                     action=BulkChatAction.FINISH)
    assert len(results) == MAX_CHATS and results[0].error is None
    assert {r.error.code for r in results[1:]} == {"NOT_FOUND"}


async def _task_world():
    author, author_v = await make_operator("Author")
    responsible, responsible_v = await make_operator("Responsible")
    stranger, stranger_v = await make_operator("Stranger")
    _, supervisor_v = await make_operator(role=OperatorRole.SUPERVISOR)
    channel = await make_open_channel([author, responsible])
    chat, visitor_v, _ = await start_chat(channel)
    await chats.answer_chat(author_v, chat_id=chat.id)
    message = await messages.send_message(author_v, chat_id=chat.id, text="Call the client back tomorrow")
    task = await tasks.create_task_from_message(author_v, message_id=message.id, responsible_id=responsible.id)
    return task, author_v, responsible_v, stranger, stranger_v, supervisor_v, visitor_v


async def test_a_tasks_author_responsible_and_supervisors_update_it(db):
    task, author_v, responsible_v, stranger, _, supervisor_v, _ = await _task_world()
    done = await tasks.update_task(responsible_v, task_id=task.id, status=TaskStatus.DONE)
    assert done.status == TaskStatus.DONE and (await Task.get(id=task.id)).status == TaskStatus.DONE
    await tasks.update_task(author_v, task_id=task.id, title="  Call back  ", description="Before noon")
    await tasks.update_task(supervisor_v, task_id=task.id, status=TaskStatus.OPEN, responsible_id=author_v.operator_id)
    row = await Task.get(id=task.id)
    assert (row.title, row.description, row.status, row.responsible_id) == (
        "Call back", "Before noon", TaskStatus.OPEN, author_v.operator_id)


async def test_others_cannot_update_a_task_and_bad_input_changes_nothing(db):
    task, author_v, responsible_v, stranger, stranger_v, _, visitor_v = await _task_world()
    before = await Task.filter(id=task.id).values()
    with pytest.raises(NotFound):
        await tasks.update_task(stranger_v, task_id=task.id, status=TaskStatus.DONE)
    with pytest.raises(Forbidden):
        await tasks.update_task(visitor_v, task_id=task.id, status=TaskStatus.DONE)
    for bad in (dict(title="  "), dict(title="x" * 256), dict(status="LATER"), dict(description="x" * 10_001)):
        with pytest.raises(InvalidInput):
            await tasks.update_task(author_v, task_id=task.id, **bad)
    with pytest.raises(NotFound):
        await tasks.update_task(author_v, task_id=task.id, responsible_id=999_999)
    with pytest.raises(NotFound):
        await tasks.update_task(author_v, task_id=999_999, status=TaskStatus.DONE)
    assert await Task.filter(id=task.id).values() == before


async def test_a_task_from_a_silent_note_is_not_handed_to_someone_who_may_not_read_its_chat(db):
    author, author_v = await make_operator("Author")
    stranger, _ = await make_operator("Stranger")
    channel = await make_open_channel([author])
    await make_open_channel([stranger])
    chat, _, _ = await start_chat(channel)
    await chats.answer_chat(author_v, chat_id=chat.id)
    note = await messages.send_message(author_v, chat_id=chat.id, text="internal: refund approved", silent=True)
    task = await tasks.create_task_from_message(author_v, message_id=note.id)
    with pytest.raises(InvalidInput, match="may not read this silent note"):  # as createTaskFromMessage says
        await tasks.update_task(author_v, task_id=task.id, responsible_id=stranger.id)
    assert (await Task.get(id=task.id)).responsible_id == author.id
