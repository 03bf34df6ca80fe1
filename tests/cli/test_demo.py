"""The demo data of `serve --demo`, built through the services, on both backends."""
from __future__ import annotations

from models import Chat, ChatStatus, Message, OpenChannel, Operator, OperatorRole, OperatorStatus, QueueDistribution
from services.identity.auth import authenticate, verify_password
from services.demo import ADMIN_EMAIL, ADMIN_PASSWORD, seed_demo


async def test_the_demo_has_the_promised_people_channels_and_chats(db):
    demo = await seed_demo()

    admin = await Operator.get(email=ADMIN_EMAIL)
    assert admin.role == OperatorRole.ADMIN and verify_password(ADMIN_PASSWORD, admin.password_hash)
    assert (await authenticate(f"Bearer {demo['admin']['token']}")).operator_id == admin.id
    assert (await authenticate(f"Bearer {demo['supervisor']['token']}")).role == OperatorRole.SUPERVISOR
    assert len(demo["operators"]) == 3
    for person in demo["operators"]:
        operator = await Operator.get(id=person["id"])
        assert operator.status == OperatorStatus.ONLINE
        assert (await authenticate(f"Bearer {person['token']}")).operator_id == operator.id

    channels = {c.name: c for c in await OpenChannel.all().prefetch_related("members")}
    assert channels["Website chat"].distribution == QueueDistribution.EVENLY
    assert len(channels["Website chat"].members) == 3
    assert channels["Messenger"].distribution == QueueDistribution.STRICT
    assert len(channels["Messenger"].members) == 2

    statuses = sorted(chat.status.value for chat in await Chat.all())
    assert statuses == ["ACTIVE", "CLOSED", "QUEUED", "QUEUED"]
    assert [c["status"] for c in demo["chats"]] == [c.status.value for c in await Chat.all().order_by("id")]


async def test_the_answered_demo_chat_has_messages_both_ways_and_a_silent_note(db):
    demo = await seed_demo()

    active = await Chat.get(status=ChatStatus.ACTIVE)
    kinds = [(m.author_kind.value, m.silent) for m in await Message.filter(chat_id=active.id).order_by("id")]
    assert ("CLIENT", False) in kinds and ("OPERATOR", False) in kinds and ("OPERATOR", True) in kinds
    visitor = await authenticate(f"Bearer {demo['visitor']['token']}")
    assert visitor.client_id == active.client_id
    queued = await Chat.filter(status=ChatStatus.QUEUED).prefetch_related("offers")
    assert all(len(chat.offers) >= 1 for chat in queued)  # offered to an ONLINE member of the queue
