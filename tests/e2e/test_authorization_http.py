"""Over HTTP, outsiders cannot touch a chat: an operator of another open channel, the visitor
of another chat, and an anonymous caller. Refused, and nothing changed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.actors import (
    CHAT_FIELDS, MESSAGE_FIELDS, USER_ERRORS, Actor, Admin, Operator, Visitor, error_codes, start_visitor_chat,
)
from tests.e2e.server import Deployment


@dataclass
class Scene:
    owner: Operator
    queued_chat: str  # waiting in the queue, offered to the owner
    active_chat: str  # answered by the owner
    outsiders: dict[str, Actor]


@pytest.fixture(scope="module")
def outsiders_by_backend() -> dict[str, dict[str, Any]]:
    """Outsider operators are made once per backend (signing in is deliberately slow)."""
    return {}


@pytest_asyncio.fixture
async def scene(deployment: Deployment, admin: Admin, http, outsiders_by_backend) -> Scene:
    owner = await admin.create_operator()
    channel_id = await admin.create_open_channel([owner])
    queued = await start_visitor_chat(http, channel_id, text="Still waiting")
    active = await start_visitor_chat(http, channel_id, text="Please help")
    await owner.answer(active.chat_id)
    await owner.send(active.chat_id, "How can I help?")

    known = outsiders_by_backend.setdefault(deployment.backend, {})
    if "other_channel_operator" not in known:
        other = await admin.create_operator()
        await admin.create_open_channel([other])
        known["other_channel_operator"] = other
    other_visitor: Visitor = await start_visitor_chat(http, channel_id, text="Another customer")  # same channel
    return Scene(owner=owner, queued_chat=queued.chat_id, active_chat=active.chat_id, outsiders={
        "other_channel_operator": Operator(http, known["other_channel_operator"].token,
                                           id=known["other_channel_operator"].id),
        "other_chats_visitor": other_visitor,
        "anonymous": Actor(http, None),
    })


async def state(admin: Admin, chat_id: str) -> dict[str, Any]:
    """What a refused action must leave as it was, as the admin sees it."""
    query = (f"query ($id: ID!) {{ chat(id: $id) {{ {CHAT_FIELDS} title answeredAt firstResponseAt "
             f"messages(first: 100) {{ totalCount edges {{ node {{ {MESSAGE_FIELDS} }} }} }} }} }}")
    return (await admin.data(query, id=chat_id))["chat"]


#: mutation -> (the chat of the scene it is tried on, its input type, more input)
ACTIONS = {
    "answerChat": ("queued_chat", "ChatInput", {}),
    "sendMessage": ("active_chat", "SendMessageInput", {"text": "I took over this chat"}),
    "finishChat": ("active_chat", "ChatInput", {}),
}
EXPECTED = {
    "other_channel_operator": {"NOT_FOUND"},
    "other_chats_visitor": {"FORBIDDEN", "NOT_FOUND"},
}


@pytest.mark.parametrize("outsider", ["other_channel_operator", "other_chats_visitor", "anonymous"])
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_an_outsider_cannot_act_on_a_chat(scene: Scene, admin: Admin, outsider: str, action: str):
    which, input_type, extra = ACTIONS[action]
    chat_id = getattr(scene, which)
    selection = "message { id }" if action == "sendMessage" else "chat { id status }"
    before = await state(admin, chat_id)

    body = await scene.outsiders[outsider].call(
        f"mutation ($input: {input_type}!) {{ {action}(input: $input) {{ {selection} {USER_ERRORS} }} }}",
        input={"chatId": chat_id, **extra},
    )

    if outsider == "anonymous":
        assert error_codes(body) == ["UNAUTHENTICATED"], body
        assert body["data"] is None
    else:
        assert not body.get("errors"), body
        payload = body["data"][action]
        codes = {e["code"] for e in payload["userErrors"]}
        assert codes and codes <= EXPECTED[outsider], payload
        assert payload.get("chat", payload.get("message")) is None
    assert await state(admin, chat_id) == before


@pytest.mark.parametrize("outsider", ["other_channel_operator", "other_chats_visitor", "anonymous"])
@pytest.mark.parametrize("field", ["chat", "node"])
async def test_an_outsider_cannot_read_a_chat(scene: Scene, outsider: str, field: str):
    for chat_id in (scene.queued_chat, scene.active_chat):
        body = await scene.outsiders[outsider].call(
            f"query ($id: ID!) {{ {field}(id: $id) {{ id ... on Chat {{ title messages {{ totalCount }} }} }} }}",
            id=chat_id,
        )

        assert (body.get("data") or {}).get(field) is None, body
        if outsider == "anonymous":
            assert error_codes(body) == ["UNAUTHENTICATED"]
        else:
            assert not body.get("errors"), body


#: other ways to a chat than chat(id): through an open channel's queue
INDIRECT_READS = [
    pytest.param(
        "other_channel_operator", "{ operators { openChannels { queuedChats { id title client { name email } } } } }",
        id="other_channel_operator",
    ),
    pytest.param(
        "other_chats_visitor", "{ visitorChat { openChannel { queuedChats { id title client { name email } } } } }",
        id="other_chats_visitor",
    ),
]


@pytest.mark.parametrize(("outsider", "query"), INDIRECT_READS)
async def test_an_outsider_cannot_read_a_chat_through_a_queue(scene: Scene, outsider: str, query: str):
    body = await scene.outsiders[outsider].call(query)

    assert not body.get("errors"), body
    assert scene.queued_chat not in str(body), body
