"""What a channel asks of a visitor before the first message (OpenChannel.contact_fields: NONE,
OPTIONAL, REQUIRED; admins set it) and what the widget may read of the channel before there is a
token (services/chats/widget_settings.py): startVisitorChat enforces REQUIRED."""
from __future__ import annotations

import pytest

from models import Chat, Client, ContactFields, Event, Message, VisitorSession
from services.chats import open_channels, visitors
from services.chats.widget_settings import WidgetSettings, widget_settings
from services.common.errors import Forbidden, InvalidInput
from services.identity.viewer import ANONYMOUS
from tests.automation.test_after_hours import OFFICE
from tests.factories import make_admin, make_open_channel, make_operator, start_chat


async def _rows() -> tuple[int, int, int, int, int]:
    return (await Client.all().count(), await VisitorSession.all().count(), await Chat.all().count(),
            await Message.all().count(), await Event.all().count())


async def test_a_channel_asks_for_optional_contact_fields_unless_an_admin_says_otherwise(db):
    _, admin = await make_admin()
    channel = await make_open_channel(admin=admin)
    assert channel.contact_fields == ContactFields.OPTIONAL
    required = await make_open_channel(admin=admin, contact_fields=ContactFields.REQUIRED)
    assert required.contact_fields == ContactFields.REQUIRED

    changed = await open_channels.update_open_channel(admin, open_channel_id=channel.id,
                                                      contact_fields=ContactFields.NONE)
    assert changed.contact_fields == ContactFields.NONE
    with pytest.raises(InvalidInput) as refused:
        await open_channels.update_open_channel(admin, open_channel_id=channel.id, contact_fields=None)
    assert refused.value.field == ["input", "contact_fields"]
    _, operator = await make_operator()
    with pytest.raises(Forbidden):
        await open_channels.update_open_channel(operator, open_channel_id=channel.id,
                                                contact_fields=ContactFields.REQUIRED)
    await changed.refresh_from_db()
    assert changed.contact_fields == ContactFields.NONE


async def test_anyone_reads_a_channels_widget_settings_and_an_unknown_channel_is_none(db, clock):
    _, admin = await make_admin()
    channel = await make_open_channel(admin=admin, name="Soporte", contact_fields=ContactFields.REQUIRED)
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, language="es-ES",
                                            rating_enabled=False)

    assert await widget_settings(ANONYMOUS, open_channel_id=channel.id) == WidgetSettings(
        open_channel_id=channel.id, name="Soporte", language="es-ES", rating_enabled=False,
        contact_fields=ContactFields.REQUIRED, is_open_now=True)  # no working hours: always open
    assert await widget_settings(ANONYMOUS, open_channel_id=channel.id + 1000) is None

    await open_channels.update_open_channel(admin, open_channel_id=channel.id, working_hours=OFFICE)
    found = await widget_settings(ANONYMOUS, open_channel_id=channel.id)
    assert found is not None and found.is_open_now is False  # 2030-01-01 00:00 UTC: outside office hours


async def test_a_required_channel_refuses_a_start_without_a_name_or_an_email_and_creates_nothing(db):
    operator, _ = await make_operator()
    channel = await make_open_channel([operator], contact_fields=ContactFields.REQUIRED)
    before = await _rows()

    for given, field in [({}, "name"), ({"name": "  "}, "name"), ({"name": "Lucía"}, "email"),
                         ({"name": "Lucía", "email": " "}, "email"), ({"email": "lucia@example.com"}, "name")]:
        with pytest.raises(InvalidInput) as refused:
            await visitors.start_visitor_chat(open_channel_id=channel.id, text="Hola", **given)
        assert refused.value.field == ["input", field], given
        assert await _rows() == before, given  # no client, token, chat, message or event

    chat, _ = await visitors.start_visitor_chat(open_channel_id=channel.id, text="Hola", name="Lucía",
                                                email="lucia@example.com")
    assert chat is not None
    client = await Client.get(id=chat.client_id)
    assert (client.name, client.email) == ("Lucía", "lucia@example.com")


async def test_optional_and_none_channels_start_without_contact_details(db):
    operator, _ = await make_operator()
    for asked in (ContactFields.OPTIONAL, ContactFields.NONE):
        channel = await make_open_channel([operator], contact_fields=asked)
        chat, _, _ = await start_chat(channel, "Hello")
        assert chat is not None, asked
