"""GDPR: eraseClient leaves no trace of the client's personal data or texts in any table, the
search index or the file storage; statistics keep their counts; admins only. The client export
holds everything stored about a client."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from tortoise import Tortoise, connections, fields

from models import Chat, ChatStatus, Client, Event, Message, OperatorRole
from resolvers.ids import to_global_id
from services.chats import chats, visitors
from services.contact_center import client_attributes, crm, gdpr, search, statistics
from services.contact_center.conversations import ConversationFilter, conversations
from services.contact_center.statistics import StatisticsFilter
from services.events.records import EventKind
from services.messaging import chats_from_messages, feed, files, messages, tasks
from services.common.errors import Unauthenticated
from services.identity import auth
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

NAME, EMAIL, PHONE, EXTERNAL = "Zelda Quokkaberg", "zelda.quokka@example.test", "+15550104477", "crm-zq-991"
SECRET_TEXTS = ["My card ends in 4242 purplemonkey", "Call me back about the quinoafjord order"]
REPLY = f"Hello {NAME}, we will call {PHONE}"
FILE_BYTES = b"%PDF-1.4 zelda secret document"

ERASE = """mutation($input: ClientInput!) { eraseClient(input: $input) {
  client { id name email phone } userErrors { code message field } } }"""


async def _world(platform):
    """A client who wrote, got a reply naming them, sent a file, has attributes, a CRM record, a task,
    a feed post and a discussion made from their message; and a bystander client."""
    admin_op, admin = await make_admin()
    operator, op = await make_operator()
    channel = await make_open_channel([operator])
    chat, visitor, _ = await _visitor_chat(channel)
    await chats.answer_chat(op, chat_id=chat.id)
    await messages.send_visitor_message(visitor, text=SECRET_TEXTS[1])
    upload = await files.upload_file(visitor, platform.files, chat_id=chat.id, name="zelda-passport.pdf", data=FILE_BYTES)
    await messages.send_visitor_message(visitor, text="here it is", attachment_ids=[upload.id])
    reply = await messages.send_message(op, chat_id=chat.id, text=REPLY)
    first = await Message.filter(chat_id=chat.id, text=SECRET_TEXTS[0]).first()
    await client_attributes.set_client_attributes(op, client_id=chat.client_id, attributes=[("plan", "quokka-gold")])
    await crm.save_chat_to_crm(op, chat_id=chat.id)
    await tasks.create_task_from_message(op, message_id=first.id)
    await feed.create_feed_post_from_message(op, message_id=first.id)
    discussion = await chats_from_messages.discuss_message_in_chat(op, message_id=first.id)
    await chats.rename_chat(op, chat_id=chat.id, title=f"{NAME} card issue")
    other, _, _ = await start_chat(channel, "I am someone else", name="Bystander Bob")
    return admin, op, channel, chat, upload, reply, discussion, other


async def _visitor_chat(channel):
    chat, token = await visitors.start_visitor_chat(open_channel_id=channel.id, name=NAME, email=EMAIL, phone=PHONE,
                                                    text=SECRET_TEXTS[0])
    await Client.filter(id=chat.client_id).update(external_id=EXTERNAL)
    return chat, await auth.authenticate(f"Bearer {token}"), token



async def _text_cells() -> list[tuple[str, str, str]]:
    """(table, column, value) of every text column (char, text, JSON) of every table."""
    found = []
    for model in Tortoise.apps["models"].values():
        names = [name for name, field in model._meta.fields_map.items()
                 if isinstance(field, (fields.CharField, fields.TextField, fields.JSONField))]
        if not names:
            continue
        for row in await model.all().values_list(*names):
            for name, value in zip(names, row):
                if value is not None:
                    found.append((model._meta.db_table, name, value if isinstance(value, str) else json.dumps(value)))
    return found


def _traces(cells, words) -> list[tuple[str, str, str]]:
    return [cell for cell in cells if any(w.lower() in cell[2].lower() for w in words)]


async def _index_hits(backend: str, word: str) -> int:
    connection = connections.get("default")
    if backend == "postgres":
        rows = await connection.execute_query_dict(
            "SELECT count(*) AS n FROM message WHERE search_simple @@ plainto_tsquery('simple', $1) "
            "OR search_english @@ plainto_tsquery('english', $1)", [word])
    else:
        rows = await connection.execute_query_dict(
            "SELECT count(*) AS n FROM message_fts WHERE message_fts MATCH ?", [f'"{word}"'])
    return int(rows[0]["n"])


async def test_erase_leaves_no_trace_of_the_client_and_keeps_the_counts(db, platform):
    await search.ensure_ready()  # the index exists before the messages (a server makes it at start-up)
    admin, op, channel, chat, upload, reply, discussion, other = await _world(platform)
    words = [NAME, EMAIL, PHONE, EXTERNAL, "quokka-gold", *SECRET_TEXTS, "purplemonkey", "quinoafjord"]
    assert len(_traces(await _text_cells(), words)) > 10  # the scan sees them before
    assert await _index_hits(db, "purplemonkey") == 1
    window = StatisticsFilter(datetime.now(timezone.utc) - timedelta(days=1), datetime.now(timezone.utc) + timedelta(days=1))
    before = await statistics.statistics(admin, filter=window)
    counts_before = {c.id: await Message.filter(chat_id=c.id).count() for c in (chat, discussion, other)}
    await (await platform.files.storage.open(upload.storage_key)).aclose()  # stored before

    data = await execute(ERASE, admin, platform=platform, input={"clientId": to_global_id("Client", chat.client_id)})
    assert data["eraseClient"] == {"client": {"id": to_global_id("Client", chat.client_id), "name": gdpr.ERASED_NAME,
                                              "email": None, "phone": None}, "userErrors": []}

    assert _traces(await _text_cells(), words) == []
    for word in ("purplemonkey", "quinoafjord", "Quokkaberg"):
        assert await _index_hits(db, word) == 0
    page = await conversations(admin, filter=ConversationFilter(search="purplemonkey"))
    assert page.rows == []
    with pytest.raises(FileNotFoundError):  # the file's bytes are gone
        await platform.files.storage.open(upload.storage_key)
    # the messages stay (counts in statistics), the bystander is untouched
    assert {c.id: await Message.filter(chat_id=c.id).count() for c in (chat, discussion, other)} == counts_before
    after = await statistics.statistics(admin, filter=window)
    assert after.totals == before.totals
    assert (await Chat.get(id=chat.id)).title == gdpr.ERASED_NAME
    assert (await Chat.get(id=other.id)).title == "Bystander Bob"
    assert await Message.filter(chat_id=other.id, text="I am someone else").exists()
    assert set(await Message.filter(chat_id=chat.id).values_list("text", flat=True)) == {gdpr.ERASED_TEXT}
    # the event, in the transaction, names the admin
    event = await Event.filter(kind=EventKind.CLIENT_ERASED.value, chat_id=None).get()
    assert event.actor_id == admin.operator_id and event.detail["client_id"] == chat.client_id
    assert event.detail["files"] == 1
    renamed = await Event.filter(kind=EventKind.CLIENT_ERASED.value, chat_id=chat.id).get()
    assert renamed.actor_id == admin.operator_id and renamed.state["title"] == gdpr.ERASED_NAME


async def test_erasing_twice_is_fine_and_only_admins_may(db, platform):
    _, admin = await make_admin()
    supervisor_op, supervisor = await make_operator(role=OperatorRole.SUPERVISOR)
    operator, op = await make_operator()
    channel = await make_open_channel([operator])
    chat, visitor, token = await _visitor_chat(channel)
    await chats.answer_chat(op, chat_id=chat.id)
    client_gid = to_global_id("Client", chat.client_id)
    for viewer in (op, supervisor, visitor):
        data = await execute(ERASE, viewer, platform=platform, input={"clientId": client_gid})
        assert [e["code"] for e in data["eraseClient"]["userErrors"]] == ["FORBIDDEN"]
    assert (await Client.get(id=chat.client_id)).name == NAME  # nothing changed
    missing = await execute(ERASE, admin, platform=platform, input={"clientId": to_global_id("Client", 999999)})
    assert [e["code"] for e in missing["eraseClient"]["userErrors"]] == ["NOT_FOUND"]
    for _ in range(2):
        data = await execute(ERASE, admin, platform=platform, input={"clientId": client_gid})
        assert data["eraseClient"]["userErrors"] == []
    assert await Chat.filter(id=chat.id, status=ChatStatus.ACTIVE).exists()
    with pytest.raises(Unauthenticated):  # their visitor token is gone with their sessions
        await auth.authenticate(f"Bearer {token}")


async def test_the_client_export_holds_everything_stored_about_them(db, platform):
    admin, op, channel, chat, upload, reply, discussion, other = await _world(platform)
    export = await gdpr.client_export(admin, client_id=chat.client_id)
    json.dumps(export)  # plain JSON
    assert export["client"]["name"] == NAME and export["client"]["email"] == EMAIL
    assert export["client"]["external_id"] == EXTERNAL
    assert {"key": "plan", "value": "quokka-gold"} == {k: export["attributes"][0][k] for k in ("key", "value")}
    texts = [m["text"] for m in export["messages"]]
    assert SECRET_TEXTS[0] in texts and SECRET_TEXTS[1] in texts and REPLY in texts
    assert [c["id"] for c in export["chats"]] == [chat.id]
    assert [f["name"] for f in export["files"]] == ["zelda-passport.pdf"]
    assert export["crm"]["contact"]["email"] == EMAIL
    assert "Bystander" not in json.dumps(export)
