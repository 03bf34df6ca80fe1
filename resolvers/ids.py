"""Relay global IDs: base64("Type:pk"), opaque to clients."""
from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Sequence
from typing import overload

from services.common.errors import InvalidInput
from services.common.numerals import MAX_PK, parse_numeral


@functools.lru_cache(maxsize=16_384)
def to_global_id(type_name: str, pk: int) -> str:
    """Remembered (a console lists the same chats, clients and messages over and over: a list of
    50 chats encodes about 200 IDs, a lookup costs a quarter of an encoding)."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def parse_global_id(global_id: str) -> tuple[str, int] | None:
    """("Type", pk) of a well-formed global ID; None for anything else (not base64, no type,
    a pk that is not a positive numeral within MAX_PK (services/common/numerals.py), lone surrogates, ...).
    MAX_PK, because the id columns are 32-bit INTEGER on PostgreSQL: a bigger number names
    nothing, and sending it to the database would fail there rather than find nothing."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        number = parse_numeral(pk, maximum=MAX_PK)
        return (type_name, number) if type_name and number else None
    except (binascii.Error, UnicodeError, ValueError):
        return None


def decode_id(global_id: str, type_name: str, field: list[str]) -> int:
    """The primary key of a global ID of the expected type, or INVALID_INPUT on that field."""
    parsed = parse_global_id(str(global_id))
    if parsed is None or parsed[0] != type_name:
        raise InvalidInput(f"Not a valid {type_name} ID.", field=field)
    return parsed[1]


def decode_optional_id(global_id: str | None, type_name: str, field: list[str]) -> int | None:
    """None for an absent (null) ID; otherwise as decode_id: an empty string is not "absent"."""
    return None if global_id is None else decode_id(global_id, type_name, field)


@overload
def decode_ids(global_ids: Sequence[str], type_name: str, field: list[str]) -> list[int]: ...
@overload
def decode_ids(global_ids: Sequence[str] | None, type_name: str, field: list[str]) -> list[int] | None: ...
def decode_ids(global_ids: Sequence[str] | None, type_name: str, field: list[str]) -> list[int] | None:
    if global_ids is None:
        return None
    return [decode_id(g, type_name, field) for g in global_ids]
