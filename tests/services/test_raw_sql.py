"""The dialect-aware pieces of the hand-written statements (services/common/raw_sql.py)."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from services.common.raw_sql import plus_seconds

ZONES = st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9000, 1, 1), timezones=ZONES),
       st.integers(min_value=0, max_value=10**8))
def test_sqlite_adds_seconds_to_the_stored_text_exactly_as_python_does(at, seconds):
    """SQLite stores a datetime as Python's isoformat(" ") (Tortoise's adapter); its date functions
    keep milliseconds only, so the sum must come out as the same text, microseconds and offset kept."""
    stored = at.isoformat(" ")
    with closing(sqlite3.connect(":memory:")) as db:
        (found,) = db.execute(f"SELECT {plus_seconds('?1', '?2', postgres=False)}", (stored, seconds)).fetchone()
        (none,) = db.execute(f"SELECT {plus_seconds('?1', 'NULL', postgres=False)}", (stored,)).fetchone()
    assert found == (at + timedelta(seconds=seconds)).isoformat(" ")
    assert none is None
