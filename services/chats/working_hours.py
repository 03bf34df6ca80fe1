"""Working hours of an open channel: when its operators work, in the channel's own time zone.

Pure functions of a schedule and instants (aware datetimes), no database and no clock: the queue
asks `is_open`, the after-hours timer `next_opening`, and service-level targets may count
`working_seconds_between`, the no-answer timer `after_working_seconds`. A schedule of `None` means
always open.

What holds:
- A period is local wall-clock time on one weekday, `opens < closes <= 24:00`: a period never
  crosses midnight (22:00-02:00 is two periods, 22:00-24:00 and 00:00-02:00 the next day).
- A holiday (a local date) is closed all day, whatever its weekday's periods.
- Daylight-saving changes: a local day is cut into segments of one UTC offset, and a period is the
  set of real instants whose wall-clock time falls inside it. On a spring-forward day a period
  inside the skipped hour never opens and one spanning it is an hour shorter; on a fall-back day
  the repeated hour is worked (and counted) twice.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import Weekday
from services.common.errors import InvalidInput

MINUTES_PER_DAY = 24 * 60
#: how far ahead `next_opening` looks (a schedule closed for longer never opens)
HORIZON_DAYS = 2 * 366
MAX_PERIODS = 70
MAX_HOLIDAYS = 1000

_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_WEEKDAYS = list(Weekday)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class WorkingPeriod:
    weekday: Weekday
    #: minutes after local midnight: 0 <= opens < closes <= 1440
    opens: int
    closes: int

    @property
    def opens_hhmm(self) -> str:
        return hhmm(self.opens)

    @property
    def closes_hhmm(self) -> str:
        return hhmm(self.closes)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    time_zone: str
    periods: tuple[WorkingPeriod, ...]
    holidays: frozenset[date]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(value: str) -> int | None:
    found = _TIME.match(value.strip())
    if found is None:
        return None
    return MINUTES_PER_DAY if found.group(0) == "24:00" else int(found.group(1)) * 60 + int(found.group(2))


def parse_working_hours(
    *, time_zone: str, periods: Sequence[tuple[Weekday, str, str]], holidays: Iterable[str] | None = None,
    field: Sequence[str] = ("input", "workingHours"),
) -> WorkingHours:
    """A schedule from what an admin typed; INVALID_INPUT naming the field for anything wrong."""
    at = list(field)
    time_zone = (time_zone or "").strip()
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone {time_zone!r}: use an IANA name such as Europe/Madrid.",
                           field=at + ["timeZone"]) from None
    if len(periods) > MAX_PERIODS:
        raise InvalidInput(f"At most {MAX_PERIODS} periods.", field=at + ["periods"])
    parsed = []
    for index, (weekday, opens_text, closes_text) in enumerate(periods):
        where = at + ["periods", str(index)]
        opens, closes = _minutes(opens_text), _minutes(closes_text)
        if opens is None or opens == MINUTES_PER_DAY:
            raise InvalidInput(f"opens {opens_text!r} is not a time HH:MM between 00:00 and 23:59.",
                               field=where + ["opens"])
        if closes is None:
            raise InvalidInput(f"closes {closes_text!r} is not a time HH:MM between 00:00 and 24:00.",
                               field=where + ["closes"])
        if closes <= opens:
            raise InvalidInput(
                f"The {weekday.value} period {hhmm(opens)}-{hhmm(closes)} crosses midnight or is empty: a period "
                f"must close after it opens on the same day. Split it: {hhmm(opens)}-24:00 on "
                f"{weekday.value} and 00:00-{hhmm(closes)} on {_WEEKDAYS[(_WEEKDAYS.index(weekday) + 1) % 7].value}.",
                field=where + ["closes"])
        parsed.append(WorkingPeriod(weekday, opens, closes))
    days: set[date] = set()
    for text in holidays or ():
        if len(days) >= MAX_HOLIDAYS:
            raise InvalidInput(f"At most {MAX_HOLIDAYS} holidays.", field=at + ["holidays"])
        try:
            if not _ISO_DATE.match(text.strip()):
                raise ValueError
            days.add(date.fromisoformat(text.strip()))
        except ValueError:
            raise InvalidInput(f"Holiday {text!r} is not an ISO date (YYYY-MM-DD).", field=at + ["holidays"]) from None
    order = {w: i for i, w in enumerate(_WEEKDAYS)}
    return WorkingHours(time_zone, tuple(sorted(parsed, key=lambda p: (order[p.weekday], p.opens, p.closes))),
                        frozenset(days))


def to_stored(hours: WorkingHours | None) -> str | None:
    """The stored form (the channel's `working_hours` column): JSON text, the same on every backend
    and in raw rows (read models)."""
    if hours is None:
        return None
    return json.dumps({
        "timeZone": hours.time_zone,
        "periods": [{"weekday": p.weekday.value, "opens": hhmm(p.opens), "closes": hhmm(p.closes)}
                    for p in hours.periods],
        "holidays": sorted(d.isoformat() for d in hours.holidays),
    }, separators=(",", ":"))


def from_stored(text: str | None) -> WorkingHours | None:
    if not text:
        return None
    return _from_json(text)


@functools.lru_cache(maxsize=1024)
def _from_json(text: str) -> WorkingHours:
    """Parsed once per distinct stored text (the queue asks on every offer)."""
    stored = json.loads(text)
    return parse_working_hours(
        time_zone=stored["timeZone"],
        periods=[(Weekday(p["weekday"]), p["opens"], p["closes"]) for p in stored["periods"]],
        holidays=stored.get("holidays") or (),
    )


# ----------------------------------------------------------------------------- instants


@functools.lru_cache(maxsize=4096)
def _offset_segments(time_zone: str, day: date) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """Real time around a local day cut where the UTC offset changes: (start, end, offset), UTC.

    The window (local midnight -15 h to local midnight +39 h, as if UTC) holds every instant whose
    local date is `day` (offsets lie within -12 h..+14 h). Offsets are sampled hourly and each
    change is found to the second: zones change offset at most a few times a year.
    """
    zone = ZoneInfo(time_zone)
    midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    start, end = midnight - timedelta(hours=15), midnight + timedelta(hours=39)

    def offset(t: datetime) -> timedelta:
        return t.astimezone(zone).utcoffset() or timedelta(0)

    segments = []
    segment_start, current = start, offset(start)
    t = start
    while t < end:
        nxt = min(t + timedelta(hours=1), end)
        if offset(nxt) != current:
            lo, hi = t, nxt  # offset(lo) == current != offset(hi)
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            segments.append((segment_start, hi, current))
            segment_start, current = hi, offset(hi)
        t = nxt
    segments.append((segment_start, end, current))
    return tuple(segments)


def open_intervals(hours: WorkingHours, day: date) -> list[Interval]:
    """The real instants (UTC, [start, end)) the channel is open on this local date, merged, in order."""
    if day in hours.holidays:
        return []
    periods = [p for p in hours.periods if p.weekday is _WEEKDAYS[day.weekday()]]
    if not periods:
        return []
    wall_midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    found: list[Interval] = []
    for seg_start, seg_end, offset in _offset_segments(hours.time_zone, day):
        for period in periods:
            lo = max(seg_start, wall_midnight + timedelta(minutes=period.opens) - offset)
            hi = min(seg_end, wall_midnight + timedelta(minutes=period.closes) - offset)
            if lo < hi:
                found.append((lo, hi))
    found.sort()
    merged: list[Interval] = []
    for lo, hi in found:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _local_date(hours: WorkingHours, at: datetime) -> date:
    return at.astimezone(hours.zone).date()


def is_open(hours: WorkingHours | None, at: datetime) -> bool:
    """Whether `at` (aware) falls within working hours."""
    if hours is None:
        return True
    return any(lo <= at < hi for lo, hi in open_intervals(hours, _local_date(hours, at)))


def next_opening(hours: WorkingHours | None, at: datetime) -> datetime | None:
    """`at` itself when open; else the next instant the channel opens (UTC); None: never (no periods,
    or closed for longer than HORIZON_DAYS)."""
    if hours is None:
        return at
    if not hours.periods:
        return None
    day = _local_date(hours, at)
    for _ in range(HORIZON_DAYS):
        for lo, hi in open_intervals(hours, day):
            if hi > at:
                return max(lo, at)
        day += timedelta(days=1)
    return None


def working_seconds_between(hours: WorkingHours | None, start: datetime, end: datetime) -> float:
    """Seconds from `start` to `end` that fall within working hours (0 when end <= start)."""
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds()
    total = 0.0
    day, last = _local_date(hours, start), _local_date(hours, end)
    while day <= last:
        for lo, hi in open_intervals(hours, day):
            overlap = (min(hi, end) - max(lo, start)).total_seconds()
            if overlap > 0:
                total += overlap
        day += timedelta(days=1)
    return total


def after_working_seconds(hours: WorkingHours | None, start: datetime, seconds: float) -> datetime | None:
    """The instant at which `seconds` of working time have passed since `start` (the inverse of
    `working_seconds_between`); None: never (closed for longer than HORIZON_DAYS)."""
    left = timedelta(seconds=max(seconds, 0))
    if hours is None:
        return start + left
    day = _local_date(hours, start)
    for _ in range(HORIZON_DAYS):
        for lo, hi in open_intervals(hours, day):
            lo = max(lo, start)
            if hi <= lo:
                continue
            if lo + left <= hi:
                return lo + left
            left -= hi - lo
        day += timedelta(days=1)
    return None
