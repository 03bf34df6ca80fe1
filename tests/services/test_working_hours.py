"""Working hours as pure functions (services/chats/working_hours.py): periods, 24:00, holidays,
periods that cross midnight refused, and daylight-saving days in Europe/Madrid and
America/Sao_Paulo (whose clocks changed at midnight until 2019). No database, no clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from models import Weekday
from services.chats.working_hours import (
    WorkingHours, from_stored, is_open, next_opening, open_intervals, parse_working_hours, to_stored,
    working_seconds_between,
)
from services.common.errors import InvalidInput

MON, TUE, SAT, SUN = Weekday.MONDAY, Weekday.TUESDAY, Weekday.SATURDAY, Weekday.SUNDAY
MADRID, SAO_PAULO = ZoneInfo("Europe/Madrid"), ZoneInfo("America/Sao_Paulo")
UTC = timezone.utc
HOUR = 3600.0


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


def office(zone: str = "Europe/Madrid", holidays: tuple[str, ...] = ()) -> WorkingHours:
    """Monday to Friday 09:00-18:00."""
    days = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
    return parse_working_hours(time_zone=zone, periods=[(d, "09:00", "18:00") for d in days], holidays=holidays)


def test_open_within_a_period_in_the_channels_time_zone():
    hours = office()
    monday = local(MADRID, 2030, 1, 7, 9, 0)  # 08:00 UTC in winter
    assert is_open(hours, monday)
    assert is_open(hours, local(MADRID, 2030, 1, 7, 17, 59))
    assert not is_open(hours, local(MADRID, 2030, 1, 7, 18, 0))  # closes is exclusive
    assert not is_open(hours, local(MADRID, 2030, 1, 7, 8, 59))
    assert not is_open(hours, local(MADRID, 2030, 1, 5, 12, 0))  # a Saturday
    # the same instant, named in UTC
    assert is_open(hours, datetime(2030, 1, 7, 8, 0, tzinfo=UTC))
    assert not is_open(hours, datetime(2030, 1, 7, 7, 59, tzinfo=UTC))


def test_no_working_hours_is_always_open():
    at = datetime(2030, 1, 5, 3, 0, tzinfo=UTC)
    assert is_open(None, at) and next_opening(None, at) == at
    assert working_seconds_between(None, at, at + timedelta(hours=5)) == 5 * HOUR


def test_next_opening_is_now_when_open_else_the_next_period():
    hours = office()
    friday_evening = local(MADRID, 2030, 1, 4, 19, 0)
    assert next_opening(hours, friday_evening) == local(MADRID, 2030, 1, 7, 9, 0)
    open_now = local(MADRID, 2030, 1, 7, 10, 30)
    assert next_opening(hours, open_now) == open_now


def test_24_00_closes_at_midnight_and_joins_the_next_day():
    hours = parse_working_hours(time_zone="Europe/Madrid", periods=[(MON, "20:00", "24:00"), (TUE, "00:00", "02:00")])
    assert is_open(hours, local(MADRID, 2030, 1, 7, 23, 59))
    assert is_open(hours, local(MADRID, 2030, 1, 8, 0, 0))
    assert not is_open(hours, local(MADRID, 2030, 1, 8, 2, 0))
    assert working_seconds_between(hours, local(MADRID, 2030, 1, 7, 0, 0), local(MADRID, 2030, 1, 9, 0, 0)) == 6 * HOUR
    assert [(p.opens_hhmm, p.closes_hhmm) for p in hours.periods] == [("20:00", "24:00"), ("00:00", "02:00")]


@pytest.mark.parametrize("opens, closes", [("22:00", "02:00"), ("09:00", "09:00"), ("18:00", "00:00")])
def test_a_period_that_crosses_midnight_is_refused_with_a_way_out(opens, closes):
    with pytest.raises(InvalidInput) as refused:
        parse_working_hours(time_zone="Europe/Madrid", periods=[(MON, opens, closes)])
    assert refused.value.field == ["input", "workingHours", "periods", "0", "closes"]
    assert "crosses midnight" in refused.value.message
    assert f"{opens}-24:00 on MONDAY" in refused.value.message and "on TUESDAY" in refused.value.message


@pytest.mark.parametrize("time_zone, periods, holidays, field", [
    ("Mars/Olympus", [], (), ["input", "workingHours", "timeZone"]),
    ("", [], (), ["input", "workingHours", "timeZone"]),
    ("Europe/Madrid", [(MON, "9:00", "18:00")], (), ["input", "workingHours", "periods", "0", "opens"]),
    ("Europe/Madrid", [(MON, "24:00", "24:00")], (), ["input", "workingHours", "periods", "0", "opens"]),
    ("Europe/Madrid", [(MON, "09:00", "24:01")], (), ["input", "workingHours", "periods", "0", "closes"]),
    ("Europe/Madrid", [(MON, "09:00", "25:00")], (), ["input", "workingHours", "periods", "0", "closes"]),
    ("Europe/Madrid", [], ("25/12/2030",), ["input", "workingHours", "holidays"]),
    ("Europe/Madrid", [], ("2030-02-30",), ["input", "workingHours", "holidays"]),
])
def test_bad_input_names_its_field(time_zone, periods, holidays, field):
    with pytest.raises(InvalidInput) as refused:
        parse_working_hours(time_zone=time_zone, periods=periods, holidays=holidays)
    assert refused.value.field == field and refused.value.code == "INVALID_INPUT"


def test_a_holiday_is_closed_all_day_in_local_time():
    hours = office(holidays=("2030-01-07",))
    assert not is_open(hours, local(MADRID, 2030, 1, 7, 12, 0))
    assert is_open(hours, local(MADRID, 2030, 1, 8, 12, 0))
    # Friday evening: the next opening skips the holiday Monday
    assert next_opening(hours, local(MADRID, 2030, 1, 4, 19, 0)) == local(MADRID, 2030, 1, 8, 9, 0)
    week = working_seconds_between(hours, local(MADRID, 2030, 1, 6, 0, 0), local(MADRID, 2030, 1, 13, 0, 0))
    assert week == 4 * 9 * HOUR


def test_no_periods_never_opens():
    hours = parse_working_hours(time_zone="UTC", periods=[])
    at = datetime(2030, 1, 1, tzinfo=UTC)
    assert not is_open(hours, at) and next_opening(hours, at) is None
    assert working_seconds_between(hours, at, at + timedelta(days=30)) == 0


def test_the_stored_form_round_trips():
    hours = parse_working_hours(time_zone="America/Sao_Paulo", periods=[(SAT, "10:00", "14:00"), (MON, "08:30", "24:00")],
                                holidays=["2030-12-25", "2030-01-01"])
    assert from_stored(to_stored(hours)) == hours
    assert from_stored(None) is None and to_stored(None) is None


# ------------------------------------------------------------------------ daylight saving


def test_madrid_spring_forward_a_period_in_the_missing_hour_never_opens():
    """2030-03-31 (Sunday): 02:00 CET jumps to 03:00 CEST; 02:00-03:00 does not exist."""
    missing = parse_working_hours(time_zone="Europe/Madrid", periods=[(SUN, "02:00", "03:00")])
    assert open_intervals(missing, date(2030, 3, 31)) == []
    assert not is_open(missing, datetime(2030, 3, 31, 1, 0, 30, tzinfo=UTC))  # 03:00:30 CEST
    # the next opening is the next Sunday's 02:00 CEST (00:00 UTC)
    assert next_opening(missing, datetime(2030, 3, 30, 12, 0, tzinfo=UTC)) == datetime(2030, 4, 7, 0, 0, tzinfo=UTC)

    spanning = parse_working_hours(time_zone="Europe/Madrid", periods=[(SUN, "01:00", "05:00")])
    assert open_intervals(spanning, date(2030, 3, 31)) == [
        (datetime(2030, 3, 31, 0, 0, tzinfo=UTC), datetime(2030, 3, 31, 3, 0, tzinfo=UTC))]  # 3 real hours
    day = (datetime(2030, 3, 30, 12, 0, tzinfo=UTC), datetime(2030, 4, 1, 0, 0, tzinfo=UTC))
    assert working_seconds_between(spanning, *day) == 3 * HOUR
    # a period that opens in the missing hour opens when the clocks jump
    opens_inside = parse_working_hours(time_zone="Europe/Madrid", periods=[(SUN, "02:30", "04:00")])
    assert next_opening(opens_inside, datetime(2030, 3, 30, 12, 0, tzinfo=UTC)) == datetime(2030, 3, 31, 1, 0, tzinfo=UTC)


def test_madrid_fall_back_the_repeated_hour_is_worked_twice():
    """2030-10-27 (Sunday): 03:00 CEST goes back to 02:00 CET; 02:00-03:00 happens twice."""
    repeated = parse_working_hours(time_zone="Europe/Madrid", periods=[(SUN, "02:00", "03:00")])
    assert open_intervals(repeated, date(2030, 10, 27)) == [
        (datetime(2030, 10, 27, 0, 0, tzinfo=UTC), datetime(2030, 10, 27, 2, 0, tzinfo=UTC))]
    assert is_open(repeated, local(MADRID, 2030, 10, 27, 2, 30, fold=0))
    assert is_open(repeated, local(MADRID, 2030, 10, 27, 2, 30, fold=1))
    office_sunday = parse_working_hours(time_zone="Europe/Madrid", periods=[(SUN, "00:00", "24:00")])
    assert working_seconds_between(office_sunday, datetime(2030, 10, 26, tzinfo=UTC),
                                   datetime(2030, 10, 29, tzinfo=UTC)) == 25 * HOUR


def test_sao_paulo_spring_forward_at_midnight():
    """2018-11-04 (Sunday): 00:00 -03 jumped to 01:00 -02; the day began at 01:00."""
    hours = parse_working_hours(time_zone="America/Sao_Paulo", periods=[(SUN, "00:00", "02:00")])
    assert open_intervals(hours, date(2018, 11, 4)) == [
        (datetime(2018, 11, 4, 3, 0, tzinfo=UTC), datetime(2018, 11, 4, 4, 0, tzinfo=UTC))]
    saturday_noon = datetime(2018, 11, 3, 15, 0, tzinfo=UTC)
    assert next_opening(hours, saturday_noon) == datetime(2018, 11, 4, 3, 0, tzinfo=UTC)
    assert working_seconds_between(hours, saturday_noon, datetime(2018, 11, 5, tzinfo=UTC)) == 1 * HOUR


def test_sao_paulo_fall_back_at_midnight():
    """2019-02-17 00:00 -02 went back to 2019-02-16 23:00 -03: Saturday's 23:00-24:00 happened twice."""
    hours = parse_working_hours(time_zone="America/Sao_Paulo", periods=[(SAT, "23:00", "24:00"), (SUN, "00:00", "01:00")])
    assert open_intervals(hours, date(2019, 2, 16)) == [
        (datetime(2019, 2, 17, 1, 0, tzinfo=UTC), datetime(2019, 2, 17, 3, 0, tzinfo=UTC))]
    assert open_intervals(hours, date(2019, 2, 17)) == [
        (datetime(2019, 2, 17, 3, 0, tzinfo=UTC), datetime(2019, 2, 17, 4, 0, tzinfo=UTC))]
    assert working_seconds_between(hours, datetime(2019, 2, 16, tzinfo=UTC), datetime(2019, 2, 18, tzinfo=UTC)) == 3 * HOUR
    # and since 2019 Brazil keeps one offset all year: a plain 1 hour + 1 hour
    assert working_seconds_between(hours, datetime(2030, 2, 16, tzinfo=UTC), datetime(2030, 2, 18, tzinfo=UTC)) == 2 * HOUR


# ------------------------------------------------------------------------ properties

_instants = st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2031, 12, 31), timezones=st.just(UTC))
_periods = st.lists(st.tuples(st.sampled_from(list(Weekday)), st.integers(0, 47), st.integers(1, 48))
                    .filter(lambda p: p[1] < p[2]), max_size=6)


def _hours(zone: str, periods: list[tuple[Weekday, int, int]]):
    def half_hours(n: int) -> str:
        return f"{n // 2:02d}:{30 * (n % 2):02d}"
    return parse_working_hours(time_zone=zone, periods=[(d, half_hours(a), half_hours(b)) for d, a, b in periods])


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(["Europe/Madrid", "America/Sao_Paulo", "UTC", "Australia/Lord_Howe"]),
       periods=_periods, a=_instants, b=_instants, c=_instants)
def test_properties(zone, periods, a, b, c):
    hours = _hours(zone, periods)
    a, b, c = sorted([a, b, c])
    # working seconds add up, and never exceed the elapsed time
    assert working_seconds_between(hours, a, c) == pytest.approx(
        working_seconds_between(hours, a, b) + working_seconds_between(hours, b, c))
    assert 0 <= working_seconds_between(hours, a, c) <= (c - a).total_seconds()
    # the next opening is open, and nothing before it is
    opening = next_opening(hours, a)
    if opening is None:
        assert not periods
    else:
        assert opening >= a and is_open(hours, opening)
        assert working_seconds_between(hours, a, opening) == 0
        assert (opening == a) == is_open(hours, a)
