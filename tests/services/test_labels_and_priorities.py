"""Labels, priorities and client attributes through the services: who may, who may not, bad input
changes nothing, the events written with the change, and the queue's order by priority."""
from __future__ import annotations

import pytest

from models import (
    Chat, ChatLabel, ChatPriority, ChatStatus, ClientAttribute, Event, Label, OperatorRole, OperatorStatus,
    QueueDistribution,
)
from services.chats import chats, labels, operators, priorities, reads
from services.common.errors import Forbidden, InvalidInput, InvalidState, NotFound
from services.contact_center import client_attributes
from tests.factories import make_admin, make_open_channel, make_operator, snapshot, start_chat


async def _answered_world():
    """Chat X in channel C answered by `responsible`, `member` only in C's queue, `participant` added,
    `outsider` in another channel, a supervisor, an admin and two labels."""
    responsible, responsible_v = await make_operator()
    member, member_v = await make_operator()
    participant, participant_v = await make_operator()
    outsider, outsider_v = await make_operator()
    _, supervisor_v = await make_operator(role=OperatorRole.SUPERVISOR)
    _, admin_v = await make_admin()
    channel = await make_open_channel([responsible, member], distribution=QueueDistribution.STRICT)
    await make_open_channel([outsider, participant])
    chat, visitor_v, _ = await start_chat(channel, name="Vera")
    await chats.answer_chat(responsible_v, chat_id=chat.id)
    await chats.add_chat_participants(responsible_v, chat_id=chat.id, operator_ids=[participant.id])
    vip = await labels.create_label(admin_v, name="VIP", color="#ffd700")
    billing = await labels.create_label(admin_v, name="Billing", color="#00AA00")
    return dict(chat=chat, responsible=responsible_v, member=member_v, participant=participant_v,
                outsider=outsider_v, supervisor=supervisor_v, admin=admin_v, visitor=visitor_v, vip=vip,
                billing=billing)


async def _label_names(chat_id: int) -> list[str]:
    return sorted(await Label.filter(chat_labels__chat_id=chat_id).values_list("name", flat=True))


async def test_only_admins_define_labels_and_a_bad_label_is_refused(db):
    w = await _answered_world()
    assert (w["vip"].name, w["vip"].color) == ("VIP", "#FFD700")
    for who in ("responsible", "supervisor", "visitor"):
        with pytest.raises(Forbidden):
            await labels.create_label(w[who], name="Refunds", color="#123456")
    for name, color in (("vip", "#000000"), ("", "#000000"), ("Refunds", "red"), ("x" * 65, "#000000")):
        with pytest.raises(InvalidInput):
            await labels.create_label(w["admin"], name=name, color=color)
    assert await Label.all().count() == 2
    assert [label.name for label in await labels.list_labels(w["member"])] == ["Billing", "VIP"]
    with pytest.raises(Forbidden):
        await labels.list_labels(w["visitor"])


async def test_the_chats_writers_and_supervisors_set_its_labels_with_one_event(db):
    w = await _answered_world()
    chat, vip, billing = w["chat"], w["vip"], w["billing"]
    before = await Event.all().count()
    await labels.set_chat_labels(w["responsible"], chat_id=chat.id, label_ids=[vip.id, billing.id, vip.id])
    assert await _label_names(chat.id) == ["Billing", "VIP"]
    changed = await Event.filter(id__gt=0, chat_kind="LABELS_CHANGED").values("chat_id", "kind")
    assert changed == [{"chat_id": chat.id, "kind": "LABELS_CHANGED"}] and await Event.all().count() == before + 1
    await labels.set_chat_labels(w["participant"], chat_id=chat.id, label_ids=[billing.id])
    assert await _label_names(chat.id) == ["Billing"]
    await labels.set_chat_labels(w["supervisor"], chat_id=chat.id, label_ids=[billing.id])  # unchanged: no event
    assert await Event.filter(chat_kind="LABELS_CHANGED").count() == 2
    await labels.set_chat_labels(w["supervisor"], chat_id=chat.id, label_ids=[])
    assert await _label_names(chat.id) == []


async def test_whoever_may_not_write_in_the_chat_cannot_label_it_and_bad_input_changes_nothing(db):
    w = await _answered_world()
    chat = w["chat"]
    await labels.set_chat_labels(w["responsible"], chat_id=chat.id, label_ids=[w["vip"].id])
    before = await snapshot(chat.id)
    with pytest.raises(Forbidden):  # sees the chat (its queue) but does not write in it
        await labels.set_chat_labels(w["member"], chat_id=chat.id, label_ids=[w["billing"].id])
    with pytest.raises(NotFound):
        await labels.set_chat_labels(w["outsider"], chat_id=chat.id, label_ids=[w["billing"].id])
    with pytest.raises(Forbidden):
        await labels.set_chat_labels(w["visitor"], chat_id=chat.id, label_ids=[])
    with pytest.raises(NotFound):  # an unknown label among known ones: nothing changes
        await labels.set_chat_labels(w["responsible"], chat_id=chat.id, label_ids=[w["billing"].id, 999_999])
    with pytest.raises(InvalidInput):
        await labels.set_chat_labels(w["responsible"], chat_id=chat.id, label_ids=list(range(1, 30)))
    assert await snapshot(chat.id) == before
    assert await _label_names(chat.id) == ["VIP"]


async def test_the_chats_operators_its_queue_while_it_waits_and_supervisors_set_its_priority(db):
    w = await _answered_world()
    chat = w["chat"]
    done = await priorities.set_chat_priority(w["participant"], chat_id=chat.id, priority=ChatPriority.HIGH)
    assert done.priority == ChatPriority.HIGH and (await Chat.get(id=chat.id)).priority == ChatPriority.HIGH
    event = await Event.filter(kind="PRIORITY_CHANGED").get()
    assert (event.queue_kind, event.chat_id) == ("PRIORITY_CHANGED", chat.id)
    before = await snapshot(chat.id)
    with pytest.raises(Forbidden):  # an answered chat: its queue member does not write in it
        await priorities.set_chat_priority(w["member"], chat_id=chat.id, priority=ChatPriority.URGENT)
    with pytest.raises(NotFound):
        await priorities.set_chat_priority(w["outsider"], chat_id=chat.id, priority=ChatPriority.URGENT)
    with pytest.raises(Forbidden):
        await priorities.set_chat_priority(w["visitor"], chat_id=chat.id, priority=ChatPriority.URGENT)
    with pytest.raises(InvalidInput):
        await priorities.set_chat_priority(w["responsible"], chat_id=chat.id, priority="VERY")  # type: ignore[arg-type]
    assert await snapshot(chat.id) == before
    await priorities.set_chat_priority(w["supervisor"], chat_id=chat.id, priority=ChatPriority.URGENT)
    await chats.finish_chat(w["responsible"], chat_id=chat.id)
    with pytest.raises(InvalidState):
        await priorities.set_chat_priority(w["responsible"], chat_id=chat.id, priority=ChatPriority.LOW)

    waiting, _, _ = await start_chat(await _channel_of(chat))  # offered to the responsible (STRICT, first)
    await priorities.set_chat_priority(w["member"], chat_id=waiting.id, priority=ChatPriority.LOW)
    assert (await Chat.get(id=waiting.id)).priority == ChatPriority.LOW


async def _channel_of(chat: Chat):
    return await (await Chat.get(id=chat.id)).open_channel


async def test_the_queue_offers_a_higher_priority_first_even_when_it_came_later(db):
    alice, alice_v = await make_operator("Alice", status=OperatorStatus.OFFLINE)
    _, supervisor_v = await make_operator(role=OperatorRole.SUPERVISOR)
    channel = await make_open_channel([alice], distribution=QueueDistribution.STRICT)
    first, _, _ = await start_chat(channel, name="Early, normal")
    second, _, _ = await start_chat(channel, name="Late, normal")
    urgent, _, _ = await start_chat(channel, name="Latest, high")
    await priorities.set_chat_priority(supervisor_v, chat_id=urgent.id, priority=ChatPriority.HIGH)
    queued = await reads.visible_queued_chats(supervisor_v, [channel.id])
    assert [c.title for c in queued] == ["Latest, high", "Early, normal", "Late, normal"]

    mark = (await Event.all().order_by("-id").first()).id
    await operators.set_status(alice_v, status=OperatorStatus.ONLINE)  # the waiting chats move
    offered = await Event.filter(id__gt=mark, kind="CHAT_OFFERED").order_by("id").values_list("chat_id", flat=True)
    assert offered == [urgent.id, first.id, second.id]


async def test_client_attributes_are_set_by_those_who_write_to_the_client(db):
    w = await _answered_world()
    client_id = w["chat"].client_id
    await client_attributes.set_client_attributes(w["responsible"], client_id=client_id,
                                                  attributes=[("plan", "gold"), ("customer_id", "42")])
    await client_attributes.set_client_attributes(w["participant"], client_id=client_id,
                                                  attributes=[("plan", "platinum"), ("customer_id", None)])
    await client_attributes.set_client_attributes(w["supervisor"], client_id=client_id, attributes=[("tier", "1")])
    found = await client_attributes.attributes_of_clients(w["member"], [client_id])
    assert [(a.key, a.value) for a in found[client_id]] == [("plan", "platinum"), ("tier", "1")]
    assert await client_attributes.attributes_of_clients(w["outsider"], [client_id]) == {client_id: []}
    assert await client_attributes.attributes_of_clients(w["visitor"], [client_id]) == {client_id: []}

    before = sorted(await ClientAttribute.all().values_list("key", "value"))
    with pytest.raises(Forbidden):  # sees the client through the queue, writes in none of their chats
        await client_attributes.set_client_attributes(w["member"], client_id=client_id, attributes=[("plan", "x")])
    with pytest.raises(NotFound):
        await client_attributes.set_client_attributes(w["outsider"], client_id=client_id, attributes=[("plan", "x")])
    with pytest.raises(Forbidden):
        await client_attributes.set_client_attributes(w["visitor"], client_id=client_id, attributes=[("plan", "x")])
    with pytest.raises(NotFound):
        await client_attributes.set_client_attributes(w["supervisor"], client_id=999_999, attributes=[("a", "b")])
    bad = ([("plan", "x"), ("has space", "y")], [("plan", "x"), ("plan", "y")], [("plan", "")],
           [("plan", "x" * 1001)], [("k", "nul\x00")])
    for attributes in bad:
        with pytest.raises(InvalidInput):
            await client_attributes.set_client_attributes(w["responsible"], client_id=client_id, attributes=attributes)
    with pytest.raises(InvalidInput):  # too many: the 51st key
        await client_attributes.set_client_attributes(w["responsible"], client_id=client_id,
                                                      attributes=[(f"k{i}", "v") for i in range(50)])
    assert sorted(await ClientAttribute.all().values_list("key", "value")) == before
