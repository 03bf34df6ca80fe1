"""Models built from whole rows by generated constructors (services/common/model_rows.py): the same
instances as Tortoise's own `_init_from_db`, on SQLite and PostgreSQL, for every table a chat with
messages fills; MODEL_ROWS=off builds them with `_init_from_db` itself."""
from __future__ import annotations

import pytest
from tortoise import Tortoise

from services.common import model_rows, raw_sql
from services.common.transactions import transaction
from services.messaging import messages
from tests.factories import make_open_channel, make_operator, start_chat


@pytest.fixture
def constructors(monkeypatch):
    """Each test's own constructors, with MODEL_ROWS as the test sets it."""
    monkeypatch.setattr(model_rows, "_BUILT", {})
    return model_rows


async def _a_chat_with_messages():
    operator, viewer = await make_operator()
    channel = await make_open_channel([operator])
    chat, _, _ = await start_chat(channel)
    from services.chats import chats
    await chats.answer_chat(viewer, chat_id=chat.id)
    await messages.send_message(viewer, chat_id=chat.id, text="it's on its way")
    await messages.send_message(viewer, chat_id=chat.id, text="a note", silent=True)


async def test_every_filled_table_reads_as_tortoise_reads_it(db, constructors):
    await _a_chat_with_messages()
    compared = []
    async with transaction() as tx:
        for model in Tortoise.apps["models"].values():
            for row in await raw_sql.rows(tx, f"SELECT * FROM {model._meta.db_table} ORDER BY 1 LIMIT 3"):
                built = constructors.model_of_row(model)(row)
                assert type(built) is model
                assert vars(built) == vars(model._init_from_db(**row)), model.__name__
                compared.append(model.__name__)
    assert {"Chat", "Message", "Client", "Operator", "OpenChannel", "Event"} <= set(compared)


async def test_a_row_without_a_column_is_refused_not_made_partial(db, constructors):
    from models import Chat

    await _a_chat_with_messages()
    async with transaction() as tx:
        row = dict((await raw_sql.rows(tx, "SELECT * FROM chat ORDER BY id LIMIT 1"))[0])
    del row["title"]
    with pytest.raises(KeyError):
        constructors.model_of_row(Chat)(row)


async def test_model_rows_off_builds_with_tortoise_itself(db, constructors, monkeypatch):
    from models import Chat

    await _a_chat_with_messages()
    monkeypatch.setattr(constructors, "ENABLED", False)
    monkeypatch.setattr(constructors, "_BUILT", {})  # made again with the setting off
    async with transaction() as tx:
        row = (await raw_sql.rows(tx, "SELECT * FROM chat ORDER BY id LIMIT 1"))[0]
    calls = []
    original = Chat._init_from_db.__func__

    def counted(cls, **kwargs):
        calls.append(cls)
        return original(cls, **kwargs)

    monkeypatch.setattr(Chat, "_init_from_db", classmethod(counted))
    assert vars(constructors.model_of_row(Chat)(row)) == vars(original(Chat, **row))
    assert calls == [Chat]
