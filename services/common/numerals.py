"""Numbers written by clients: ids in global IDs and cursors, event ids in `after`, timestamps in
signed links. One parser for all of them.

Why not `text.isdigit()` and `int(text)`: both take any Unicode digit. `"²".isdigit()` is true
and `int("²")` raises (a 500 where a clear error was due), `int("١٢")` is 12 (a number the
client never wrote in ASCII), and `int("99999999999999999999")` is a number no id column holds
(the database fails on it rather than finding nothing). A numeral here is ASCII digits only,
no sign, no space, no underscore, within a maximum the caller names.
"""
from __future__ import annotations

#: the largest primary key of a 32-bit INTEGER id column (PostgreSQL): every table's but the events'
MAX_PK = 2**31 - 1
#: the largest event id (a BIGINT column)
MAX_EVENT_ID = 2**63 - 1
#: the last second of the year 9999, in seconds since 1970: the latest time a link or a signature names
MAX_UNIX_TIME = 253_402_300_799

_ASCII_DIGITS = frozenset("0123456789")


def parse_numeral(text: object, *, maximum: int) -> int | None:
    """The number `text` writes in ASCII digits, from 0 to `maximum`; None for anything else."""
    if not isinstance(text, str) or not text or len(text) > len(str(maximum)) or not _ASCII_DIGITS.issuperset(text):
        return None
    number = int(text)
    return number if number <= maximum else None


def checked_number(value: object, *, maximum: int) -> int | None:
    """A number that arrived as a JSON number (a keyset cursor's id, a webhook's order id) or as
    a numeral: the int from 0 to `maximum`; None for anything else (a bool, a float, too big)."""
    if type(value) is int:
        return value if 0 <= value <= maximum else None
    return parse_numeral(value, maximum=maximum)
