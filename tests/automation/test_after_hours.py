"""Working hours in the queue: a client who writes while the channel is closed gets the after-hours
message once per chat, nobody is offered the chat, and the durable timer at the next opening starts
the offers; with the services' clock moved by hand (also across daylight-saving days)."""
from __future__ import annotations

import gettext
from datetime import datetime, timedelta, timezone

import pytest

from models import Chat, ChatStatus, Message, MessageAuthorKind, OperatorStatus, Timer, Weekday
from services.automation import scheduler
from services.chats import chats, open_channels, operators
from services.chats.greeting import RATING_REQUEST_TEXT
from services.chats import gettext_catalogs
from services.chats.system_texts import CATALOG, DOMAIN, ENGLISH, LOCALE_DIR, SystemText, default_text
from services.chats.working_hours import parse_working_hours
from services.common.errors import Forbidden, InvalidInput
from services.events import timers
from services.messaging import messages
from tests.factories import make_admin, make_open_channel, make_operator, offered_to, start_chat

UTC = timezone.utc
WEEKDAYS = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
#: Monday to Friday 09:00-18:00 in Madrid: the test clock starts on Tuesday 2030-01-01 00:00 UTC
#: (01:00 in Madrid, closed); it opens at 08:00 UTC (09:00 CET)
OFFICE = parse_working_hours(time_zone="Europe/Madrid", periods=[(d, "09:00", "18:00") for d in WEEKDAYS])
OPENS = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
AFTER_HOURS_EN = default_text(SystemText.AFTER_HOURS, "en")


async def system_texts(chat_id: int) -> list[str]:
    return list(await Message.filter(chat_id=chat_id, author_kind=MessageAuthorKind.SYSTEM).order_by("id")
                .values_list("text", flat=True))


async def opening_timer(chat_id: int) -> Timer | None:
    return await Timer.get_or_none(chat_id=chat_id, kind=timers.CHANNEL_OPENS)


async def test_after_hours_the_client_is_told_once_and_the_chat_waits_for_the_opening(db, clock):
    operator, _ = await make_operator()
    channel = await make_open_channel([operator], working_hours=OFFICE)
    assert not open_channels.is_open_now(channel.working_hours)

    chat, visitor, _ = await start_chat(channel, "Hello, anyone there?")
    assert chat is not None and chat.status == ChatStatus.QUEUED
    assert await offered_to(chat.id) == set()
    assert await system_texts(chat.id) == [AFTER_HOURS_EN]
    assert (await opening_timer(chat.id)).due_at == OPENS
    assert not await Timer.filter(chat_id=chat.id, kind=timers.OFFER_TIMEOUT).exists()

    await messages.send_visitor_message(visitor, text="Hello??")
    await messages.send_visitor_message(visitor, text="I will wait")
    assert await system_texts(chat.id) == [AFTER_HOURS_EN]  # once per chat

    clock.now = OPENS - timedelta(seconds=1)
    assert await scheduler.tick() == 0
    assert await offered_to(chat.id) == set()

    clock.now = OPENS
    assert open_channels.is_open_now(channel.working_hours)
    assert await scheduler.tick() == 1
    assert await offered_to(chat.id) == {operator.id}
    assert await opening_timer(chat.id) is None
    assert (await Timer.get(chat_id=chat.id, kind=timers.OFFER_TIMEOUT)).due_at == OPENS + timedelta(seconds=60)
    await messages.send_visitor_message(visitor, text="Thanks")
    assert await system_texts(chat.id) == [AFTER_HOURS_EN]


async def test_nobody_is_offered_a_chat_while_the_channel_is_closed(db, clock):
    late, late_viewer = await make_operator(status=OperatorStatus.OFFLINE)
    channel = await make_open_channel([late], working_hours=OFFICE)
    chat, _, _ = await start_chat(channel)
    await operators.set_status(late_viewer, status=OperatorStatus.ONLINE)  # a free operator, still closed
    assert await offered_to(chat.id) == set()
    assert (await opening_timer(chat.id)).due_at == OPENS

    # open, a chat is offered at once and never gets the after-hours message
    clock.now = OPENS + timedelta(hours=1)
    other, _, _ = await start_chat(channel, "Good morning")
    assert await offered_to(other.id) == {late.id}
    assert await system_texts(other.id) == []


async def test_an_offer_that_expires_after_closing_time_waits_for_the_next_opening(db, clock):
    a, _ = await make_operator()
    b, _ = await make_operator()
    channel = await make_open_channel([a, b], working_hours=OFFICE, answer_timeout_seconds=60)
    clock.now = datetime(2030, 1, 1, 16, 59, 30, tzinfo=UTC)  # 17:59:30 in Madrid, open
    chat, _, _ = await start_chat(channel)
    assert len(await offered_to(chat.id)) == 1
    clock.advance(60)  # 18:00:30: closed
    assert await scheduler.tick() == 1
    assert await offered_to(chat.id) == set()
    assert (await opening_timer(chat.id)).due_at == datetime(2030, 1, 2, 8, 0, tzinfo=UTC)


async def test_new_hours_apply_to_the_chats_already_waiting(db, clock):
    operator, _ = await make_operator()
    channel = await make_open_channel([operator], working_hours=OFFICE)
    chat, _, _ = await start_chat(channel)
    _, admin = await make_admin()

    await open_channels.update_open_channel(admin, open_channel_id=channel.id, working_hours=None)  # always open
    assert await scheduler.tick() == 1
    assert await offered_to(chat.id) == {operator.id}


async def test_a_channel_with_no_periods_never_opens_until_changed(db, clock):
    operator, _ = await make_operator()
    closed = parse_working_hours(time_zone="UTC", periods=[])
    channel = await make_open_channel([operator], working_hours=closed)
    chat, _, _ = await start_chat(channel)
    assert await opening_timer(chat.id) is None and await offered_to(chat.id) == set()
    _, admin = await make_admin()
    await open_channels.update_open_channel(admin, open_channel_id=channel.id, working_hours=OFFICE)
    assert await scheduler.tick() == 1  # looked at again: still closed, waits for Madrid's 09:00
    assert (await opening_timer(chat.id)).due_at == OPENS


async def test_the_chat_answered_meanwhile_is_left_alone_at_the_opening(db, clock):
    supervisor, supervisor_viewer = await make_operator()
    channel = await make_open_channel([supervisor], working_hours=OFFICE)
    chat, _, _ = await start_chat(channel)
    await chats.answer_chat(supervisor_viewer, chat_id=chat.id)  # from the queue list, after hours
    clock.now = OPENS
    assert await scheduler.tick() == 1
    stored = await Chat.get(id=chat.id)
    assert stored.status == ChatStatus.ACTIVE and await offered_to(chat.id) == set()


@pytest.mark.parametrize("zone, periods, now, opening", [
    # Madrid's spring-forward Sunday: 02:30 does not exist, the period opens when the clocks jump (03:00 CEST)
    ("Europe/Madrid", [(Weekday.SUNDAY, "02:30", "04:00")], datetime(2030, 3, 30, 12, 0, tzinfo=UTC),
     datetime(2030, 3, 31, 1, 0, tzinfo=UTC)),
    # Madrid's fall-back Sunday: 02:00 is the first (CEST) one
    ("Europe/Madrid", [(Weekday.SUNDAY, "02:00", "03:00")], datetime(2030, 10, 26, 12, 0, tzinfo=UTC),
     datetime(2030, 10, 27, 0, 0, tzinfo=UTC)),
    # Sao Paulo, 2018-11-04: midnight did not exist, the day began at 01:00 -02
    ("America/Sao_Paulo", [(Weekday.SUNDAY, "00:00", "02:00")], datetime(2018, 11, 3, 15, 0, tzinfo=UTC),
     datetime(2018, 11, 4, 3, 0, tzinfo=UTC)),
    # Sao Paulo, 2019-02-16: 23:00 came twice; the period opens at the first
    ("America/Sao_Paulo", [(Weekday.SATURDAY, "23:00", "24:00")], datetime(2019, 2, 16, 12, 0, tzinfo=UTC),
     datetime(2019, 2, 17, 1, 0, tzinfo=UTC)),
])
async def test_the_opening_across_daylight_saving_changes(db, clock, zone, periods, now, opening):
    clock.now = now
    operator, _ = await make_operator()
    hours = parse_working_hours(time_zone=zone, periods=[(d, a, b) for d, a, b in periods])
    channel = await make_open_channel([operator], working_hours=hours)
    chat, _, _ = await start_chat(channel)
    assert (await opening_timer(chat.id)).due_at == opening
    clock.now = opening - timedelta(seconds=1)
    assert await scheduler.tick() == 0 and await offered_to(chat.id) == set()
    clock.now = opening
    assert await scheduler.tick() == 1 and await offered_to(chat.id) == {operator.id}


# ------------------------------------------------------------------------ texts per language


async def test_the_default_texts_speak_the_channels_language_and_its_own_texts_win(db, clock):
    operator, operator_viewer = await make_operator()
    spanish = await make_open_channel([operator], working_hours=OFFICE, language="es")
    chat, _, _ = await start_chat(spanish)
    assert await system_texts(chat.id) == [default_text(SystemText.AFTER_HOURS, "es")]
    assert "cerrados" in default_text(SystemText.AFTER_HOURS, "es")

    own = await make_open_channel([operator], working_hours=OFFICE, language="es",
                                  after_hours_message="Volvemos a las 9.")
    chat, _, _ = await start_chat(own)
    assert await system_texts(chat.id) == ["Volvemos a las 9."]

    clock.now = OPENS
    brazil = await make_open_channel([operator], language="pt-br")
    assert brazil.language == "pt-BR"
    chat, _, _ = await start_chat(brazil)
    await chats.answer_chat(operator_viewer, chat_id=chat.id)
    await chats.finish_chat(operator_viewer, chat_id=chat.id)
    assert await system_texts(chat.id) == ["Como foi o nosso atendimento? Por favor, avalie esta conversa."]

    english = await make_open_channel([operator])
    assert english.language == "en"
    chat, _, _ = await start_chat(english)
    await chats.answer_chat(operator_viewer, chat_id=chat.id)
    await chats.finish_chat(operator_viewer, chat_id=chat.id)
    assert await system_texts(chat.id) == [RATING_REQUEST_TEXT]


def test_every_language_has_every_text():
    assert {"en", "es", "pt"} <= set(CATALOG)
    for texts in CATALOG.values():
        assert set(texts) == set(SystemText) and all(t.strip() for t in texts.values())
    assert len({texts[SystemText.AFTER_HOURS] for texts in CATALOG.values()}) == len(CATALOG)


def test_the_texts_are_gettext_catalogs_compiled_from_their_po_sources(tmp_path):
    """Spanish and Portuguese are .po files translating every English text; the .mo files gettext
    reads are compiled from them (by setup.py at build time: a .po changed without a rebuild fails
    here), and what the compiler writes is what GNU gettext reads."""
    sources = sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    assert {po.parent.parent.name for po in sources} >= {"es", "pt"}
    for po in sources:
        language = po.parent.parent.name
        translated = gettext_catalogs.parse_po(po.read_text(encoding="utf-8"))
        for kind, english in ENGLISH.items():
            assert translated.get(english, "").strip() not in ("", english), (language, kind)
            assert CATALOG[language][kind] == translated[english]
        assert po.with_suffix(".mo").read_bytes() == gettext_catalogs.mo_bytes(translated), \
            f"{po.with_suffix('.mo')} is older than its source: pip install -e . compiles it"
    [*written] = gettext_catalogs.compile_all(LOCALE_DIR, tmp_path)
    assert len(written) == len(sources)
    spanish = gettext.translation(DOMAIN, tmp_path, languages=["es"])
    assert spanish.gettext(ENGLISH[SystemText.NO_ANSWER]) == default_text(SystemText.NO_ANSWER, "es")
    assert spanish.gettext("Not in the catalog") == "Not in the catalog"


async def test_language_and_hours_are_admin_settings_with_clear_errors(db, clock):
    channel = await make_open_channel()
    _, admin = await make_admin()
    _, operator = await make_operator()
    with pytest.raises(Forbidden):
        await open_channels.update_open_channel(operator, open_channel_id=channel.id, working_hours=OFFICE)
    with pytest.raises(InvalidInput) as refused:
        await open_channels.update_open_channel(admin, open_channel_id=channel.id, language="fr")
    assert refused.value.field == ["input", "language"] and "en, es, pt" in refused.value.message
    with pytest.raises(InvalidInput):
        await open_channels.update_open_channel(admin, open_channel_id=channel.id, language="not a tag")
    updated = await open_channels.update_open_channel(admin, open_channel_id=channel.id, language="ES",
                                                      working_hours=OFFICE, after_hours_message="  ")
    assert (updated.language, updated.after_hours_message) == ("es", None)
    assert open_channels.working_hours_of(updated.working_hours) == OFFICE
