"""The schema's objects a list makes per row (`from_model`, through schema/common.instance) are
made without their __init__: each must hold every field __init__ would set, with the same
values, or a field added to the type later would be missing from every listed object."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from models import ChatKind, ChatPriority, ChatStatus, MessageAuthorKind, OperatorRole, OperatorStatus
from schema.chats.chat import Chat
from schema.chats.client import Client
from schema.chats.message import Message
from schema.chats.operator import Operator

_AT = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)
_SOURCES = {
    Chat: SimpleNamespace(id=7, kind=ChatKind.CUSTOMER, title="Guest", status=ChatStatus.ACTIVE, pinned=False,
                          priority=ChatPriority.NORMAL, first_response_at=None, created_at=_AT, answered_at=_AT,
                          closed_at=None, auto_close_at=None, open_channel_id=1, client_id=2, operator_id=3,
                          parent_chat_id=None),
    Client: SimpleNamespace(id=2, name="Guest", email="g@example.com", phone=None, external_id="x-1"),
    Message: SimpleNamespace(id=11, chat_id=7, author_id=3, author_kind=MessageAuthorKind.OPERATOR, text="hi",
                             silent=True, created_at=_AT, edited_at=None, deleted=False),
    Operator: SimpleNamespace(id=3, name="Ann", email="ann@example.com", role=OperatorRole.OPERATOR,
                              status=OperatorStatus.ONLINE),
}


@pytest.mark.parametrize("cls", list(_SOURCES), ids=lambda cls: cls.__name__)
def test_an_object_made_for_a_row_is_the_one_its_init_makes(cls):
    made = cls.from_model(_SOURCES[cls])
    assert type(made) is cls
    assert set(vars(made)) == {field.name for field in dataclasses.fields(cls) if field.init}
    assert made == cls(**vars(made))
    assert vars(made) == vars(cls(**vars(made)))
    if cls is Chat:  # each object its own dict of relations
        assert made.prefetched == {} and made.prefetched is not cls.from_model(_SOURCES[cls]).prefetched
