"""The visitor's side: identity verification (a website signs its user id with the channel's identity
secret; a returning visitor is the same client, a wrong hash is refused, none merges nothing) and
finishVisitorChat (a queued chat leaves the queue, an answered one closes; no rating request)."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from models import Chat, ChatRating, ChatStatus, Client, Event, Message, MessageAuthorKind, Timer, VisitorSession
from services.chats import chats, open_channels, visitors
from services.common.errors import Forbidden, InvalidInput, InvalidState, NotFound
from services.contact_center import crm
from services.events import timers
from services.identity import auth
from services.messaging import messages
from services.policies.chats import visible_chats
from tests.automation.test_after_hours import OFFICE
from tests.factories import make_admin, make_open_channel, make_operator, offered_to, start_chat


def sign(secret: str, external_id: str) -> str:
    """What the website's server computes."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


async def start(channel_id: int, text: str | None = "Hello", **identity: str | None):
    chat, token = await visitors.start_visitor_chat(open_channel_id=channel_id, text=text, **identity)
    return chat, await auth.authenticate(f"Bearer {token}")


async def counts() -> tuple[int, int, int, int]:
    return (await Client.all().count(), await VisitorSession.all().count(), await Chat.all().count(),
            await Message.all().count())


async def signed_channel():
    operator, operator_viewer = await make_operator()
    channel = await make_open_channel([operator])
    _, admin = await make_admin()
    secret = await open_channels.rotate_identity_secret(admin, open_channel_id=channel.id)
    return channel, secret, operator, operator_viewer, admin


async def test_a_returning_visitor_with_a_correct_hash_is_the_same_client(db):
    channel, secret, _, operator, _ = await signed_channel()
    first, visitor = await start(channel.id, "My order is late", external_id="user-42",
                                 identity_hash=sign(secret, "user-42"))
    assert first is not None
    await chats.answer_chat(operator, chat_id=first.id)
    await crm.save_chat_to_crm(operator, chat_id=first.id)
    await chats.finish_chat(operator, chat_id=first.id)
    client = await Client.get(id=first.client_id)
    assert (client.external_id, client.identity_channel_id) == ("user-42", channel.id)

    # days later, on another device: the website signs the same id (upper-case hex is the same hash)
    second, returning = await start(channel.id, "It is still late", external_id="user-42",
                                    identity_hash=sign(secret, "user-42").upper())
    assert second is not None and second.id != first.id
    assert second.client_id == first.client_id == returning.client_id
    assert await Client.filter(external_id="user-42").count() == 1
    # the history is theirs: both chats, and the CRM link stays on the client
    assert set(await visible_chats(returning).values_list("id", flat=True)) == {first.id, second.id}
    link = await crm.links_of_clients(operator, [client.id])
    assert link[client.id].contact_id is not None


async def test_a_returning_visitor_writes_into_their_open_chat(db):
    channel, secret, _, _, _ = await signed_channel()
    identity = {"external_id": "user-7", "identity_hash": sign(secret, "user-7")}
    first, _ = await start(channel.id, "Hello from my phone", **identity)
    again, visitor = await start(channel.id, "And from my laptop", **identity)
    assert again is not None and first is not None and again.id == first.id
    texts = await Message.filter(chat_id=first.id, author_kind=MessageAuthorKind.CLIENT).order_by("id") \
        .values_list("text", flat=True)
    assert list(texts) == ["Hello from my phone", "And from my laptop"]
    await messages.send_visitor_message(visitor, text="Still me")
    assert await Message.filter(chat_id=first.id, author_kind=MessageAuthorKind.CLIENT).count() == 3


@pytest.mark.parametrize("identity_hash", ["0" * 64, "not hex at all", "ab" * 31, None])
async def test_a_wrong_hash_is_refused_and_nothing_is_created(db, identity_hash):
    channel, secret, *_ = await signed_channel()
    await start(channel.id, external_id="user-42", identity_hash=sign(secret, "user-42"))
    before = await counts()
    wrong = identity_hash if identity_hash is not None else sign(secret, "user-43")  # another user's signature
    with pytest.raises(InvalidInput) as refused:
        await start(channel.id, "Let me in", external_id="user-42", identity_hash=wrong)
    assert refused.value.field == ["input", "identityHash"] and "does not match" in refused.value.message
    assert await counts() == before


async def test_without_a_hash_nobody_is_merged(db):
    channel, secret, *_ = await signed_channel()
    known, _ = await start(channel.id, external_id="user-42", identity_hash=sign(secret, "user-42"))
    anonymous, _ = await start(channel.id)
    claimed, _ = await start(channel.id, external_id="user-42")  # an id without its signature
    assert known is not None and anonymous is not None and claimed is not None
    assert len({known.client_id, anonymous.client_id, claimed.client_id}) == 3
    assert (await Client.get(id=claimed.client_id)).external_id is None  # an unverified id is not kept
    assert await Client.filter(external_id="user-42").count() == 1


async def test_hashes_need_a_secret_and_the_current_one(db):
    operator, _ = await make_operator()
    unsigned = await make_open_channel([operator])
    with pytest.raises(InvalidInput) as refused:
        await start(unsigned.id, external_id="user-1", identity_hash=sign("guess", "user-1"))
    assert "rotateIdentitySecret" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        await start(unsigned.id, identity_hash=sign("guess", "user-1"))
    assert refused.value.field == ["input", "externalId"]

    channel, old, _, _, admin = await signed_channel()
    new = await open_channels.rotate_identity_secret(admin, open_channel_id=channel.id)
    assert new != old and len(new) == 64
    with pytest.raises(InvalidInput):
        await start(channel.id, external_id="user-1", identity_hash=sign(old, "user-1"))
    chat, _ = await start(channel.id, external_id="user-1", identity_hash=sign(new, "user-1"))
    assert chat is not None


async def test_an_external_id_names_one_client_per_channel(db):
    a, secret_a, *_ = await signed_channel()
    b, secret_b, *_ = await signed_channel()
    in_a, _ = await start(a.id, external_id="user-42", identity_hash=sign(secret_a, "user-42"))
    in_b, _ = await start(b.id, external_id="user-42", identity_hash=sign(secret_b, "user-42"))
    assert in_a is not None and in_b is not None and in_a.client_id != in_b.client_id
    with pytest.raises(InvalidInput):  # channel A's signature means nothing in channel B
        await start(b.id, external_id="user-42", identity_hash=sign(secret_a, "user-42"))


async def test_only_admins_rotate_the_identity_secret(db):
    channel = await make_open_channel()
    _, operator = await make_operator()
    _, admin = await make_admin()
    with pytest.raises(Forbidden):
        await open_channels.rotate_identity_secret(operator, open_channel_id=channel.id)
    with pytest.raises(NotFound):
        await open_channels.rotate_identity_secret(admin, open_channel_id=channel.id + 1000)
    assert (await type(channel).get(id=channel.id)).identity_secret is None


# ------------------------------------------------------------------------ finishVisitorChat


async def test_the_visitor_finishes_a_queued_chat_it_leaves_the_queue(db):
    operator, _ = await make_operator()
    channel = await make_open_channel([operator])
    chat, visitor, _ = await start_chat(channel)
    assert chat is not None and await offered_to(chat.id) == {operator.id}

    finished = await visitors.finish_visitor_chat(visitor)
    stored = await Chat.get(id=chat.id)
    assert finished.id == chat.id and stored.status == ChatStatus.CLOSED and stored.closed_at is not None
    assert await offered_to(chat.id) == set()
    assert not await Timer.filter(chat_id=chat.id).exists()
    event = await Event.filter(chat_id=chat.id).order_by("-id").first()
    assert (event.kind, event.queue_kind, event.chat_kind) == ("CHAT_FINISHED_BY_CLIENT", "CHAT_FINISHED", "CHAT_CLOSED")
    assert operator.id in event.operator_ids  # its offer is gone from their list
    assert not await ChatRating.filter(chat_id=chat.id).exists()
    assert not await Message.filter(chat_id=chat.id, author_kind=MessageAuthorKind.SYSTEM).exists()


async def test_the_visitor_finishes_an_answered_chat_it_closes_without_a_rating_request(db):
    operator, operator_viewer = await make_operator()
    channel = await make_open_channel([operator], rating_enabled=True)
    chat, visitor, _ = await start_chat(channel)
    await chats.answer_chat(operator_viewer, chat_id=chat.id)

    await visitors.finish_visitor_chat(visitor)
    stored = await Chat.get(id=chat.id)
    assert (stored.status, stored.operator_id, stored.auto_close_at) == (ChatStatus.CLOSED, operator.id, None)
    assert not await ChatRating.filter(chat_id=chat.id).exists()
    assert not await Message.filter(chat_id=chat.id, author_kind=MessageAuthorKind.SYSTEM).exists()
    with pytest.raises(InvalidState):  # and the operator cannot finish it again
        await chats.finish_chat(operator_viewer, chat_id=chat.id)

    # nothing open any more: a clear error; their next message opens a new chat
    with pytest.raises(InvalidState) as refused:
        await visitors.finish_visitor_chat(visitor)
    assert refused.value.message == "You have no open chat to finish."
    message = await messages.send_visitor_message(visitor, text="One more thing")
    assert message.chat_id != chat.id


async def test_finishing_frees_the_operators_slot(db):
    operator, operator_viewer = await make_operator()
    channel = await make_open_channel([operator], max_chats_per_operator=1)
    first, first_visitor, _ = await start_chat(channel)
    await chats.answer_chat(operator_viewer, chat_id=first.id)
    waiting, _, _ = await start_chat(channel)
    assert await offered_to(waiting.id) == set()
    await visitors.finish_visitor_chat(first_visitor)
    assert await offered_to(waiting.id) == {operator.id}


async def test_operators_cannot_use_the_visitors_finish(db):
    _, operator = await make_operator()
    with pytest.raises(Forbidden):
        await visitors.finish_visitor_chat(operator)


async def test_finishing_a_chat_waiting_after_hours_drops_its_opening_timer(db, clock):
    operator, _ = await make_operator()
    channel = await make_open_channel([operator], working_hours=OFFICE)
    chat, visitor, _ = await start_chat(channel)
    assert await Timer.filter(chat_id=chat.id, kind=timers.CHANNEL_OPENS).exists()
    await visitors.finish_visitor_chat(visitor)
    assert not await Timer.filter(chat_id=chat.id).exists()
