"""Who could read an event's chat when it happened (services/policies/events.py): a pure function of
the stored event and the viewer, so a replay decides as the live stream did."""
from __future__ import annotations

from datetime import datetime, timezone

from models import ChatPriority, ChatStatus, OperatorRole
from services.events.records import ChatEventKind, ChatStateRecord, EventKind, EventRecord, QueueEventKind
from services.identity.viewer import Viewer
from services.policies import events as policy

SALES, SUPPORT = 1, 2
SELLER, COLLEAGUE, SUPPORTER, OUTSIDER = 10, 11, 12, 13
CLIENT = 50


def event(kind: EventKind, *, operator: int | None = None, channel: int = SALES, operator_ids=(), removed=(),
          visible: bool = True, event_channel: int | None = None) -> EventRecord:
    return EventRecord(
        id=1, kind=kind, queue_kind=QueueEventKind.CHAT_TRANSFERRED, chat_kind=ChatEventKind.CHAT_UPDATED,
        chat_id=7, open_channel_id=event_channel or channel, message_id=None,
        operator_ids=tuple(sorted(set(operator_ids) | set(removed))), removed_operator_ids=tuple(removed),
        actor_id=SELLER, detail=None, visitor_visible=visible, created_at=datetime.now(timezone.utc),
        state=ChatStateRecord(status=ChatStatus.ACTIVE, title="t", operator_id=operator, open_channel_id=channel,
                              pinned=False, priority=ChatPriority.NORMAL, client_id=CLIENT),
    )


def operator(pk: int, role: OperatorRole = OperatorRole.OPERATOR) -> Viewer:
    return Viewer(operator_id=pk, role=role)


# the seller hands a chat they answered in Sales over to Support
TRANSFERRED = event(EventKind.CHAT_TRANSFERRED, channel=SUPPORT, event_channel=SALES,
                    operator_ids=[SELLER], removed=[SELLER])


def test_a_chat_transferred_to_a_queue_they_are_not_in_is_not_readable_for_sales():
    assert not policy.could_read_at(operator(COLLEAGUE), TRANSFERRED, {SALES})
    assert not policy.could_read_at(operator(SELLER), TRANSFERRED, {SALES})
    assert policy.is_removal_for(operator(SELLER), TRANSFERRED)
    assert not policy.is_removal_for(operator(COLLEAGUE), TRANSFERRED)


def test_support_supervisors_and_the_responsible_could_read_it():
    assert policy.could_read_at(operator(SUPPORTER), TRANSFERRED, {SUPPORT})
    assert policy.could_read_at(operator(OUTSIDER, OperatorRole.SUPERVISOR), TRANSFERRED, ())
    answered = event(EventKind.CHAT_ANSWERED, operator=OUTSIDER, channel=SUPPORT, operator_ids=[OUTSIDER])
    assert policy.could_read_at(operator(OUTSIDER), answered, ())


def test_a_participant_could_read_it_until_the_chat_left_them():
    message = event(EventKind.MESSAGE_ADDED, operator=SELLER, operator_ids=[SELLER, OUTSIDER])
    assert policy.could_read_at(operator(OUTSIDER), message, ())
    taken = event(EventKind.CHAT_INTERCEPTED, operator=COLLEAGUE, operator_ids=[COLLEAGUE], removed=[OUTSIDER])
    assert not policy.could_read_at(operator(OUTSIDER), taken, ())


def test_an_event_of_some_operators_leaves_the_others_relation_as_it_was():
    offered = event(EventKind.CHAT_OFFERED, operator_ids=[SUPPORTER], channel=SUPPORT)
    for before in (True, False):
        assert policy.could_read_at(operator(OUTSIDER), offered, (), related_before=before) is before
        assert policy.related_after(operator(OUTSIDER), offered, before) is before
    # a change of the chat names every operator related to it: one it does not name has no relation
    renamed = event(EventKind.CHAT_RENAMED, operator=SELLER, channel=SUPPORT, operator_ids=[SELLER])
    assert not policy.could_read_at(operator(OUTSIDER), renamed, (), related_before=True)


def test_a_visitor_gets_their_own_chats_and_never_an_operator_side_event():
    visitor = Viewer(client_id=CLIENT, visitor_channel_id=SALES)
    note = event(EventKind.MESSAGE_ADDED, operator=SELLER, visible=False)
    assert policy.could_read_at(visitor, TRANSFERRED) and policy.may_receive(visitor, TRANSFERRED)
    assert not policy.may_receive(visitor, note)
    assert policy.may_receive(operator(SELLER), note)
    assert not policy.could_read_at(Viewer(client_id=CLIENT + 1, visitor_channel_id=SALES), TRANSFERRED)
