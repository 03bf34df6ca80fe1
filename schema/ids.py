"""Relay global IDs: base64("Type:pk"), opaque to clients."""
from __future__ import annotations

import base64
import binascii

from services.errors import InvalidInput


def to_global_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def parse_global_id(global_id: str) -> tuple[str, int] | None:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return (type_name, int(pk)) if type_name and pk.isdigit() else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def decode_id(global_id: str, type_name: str, field: list[str]) -> int:
    """The primary key of a global ID of the expected type, or INVALID_INPUT on that field."""
    parsed = parse_global_id(str(global_id))
    if parsed is None or parsed[0] != type_name:
        raise InvalidInput(f"Not a valid {type_name} ID.", field=field)
    return parsed[1]


def decode_ids(global_ids: list[str] | None, type_name: str, field: list[str]) -> list[int] | None:
    if global_ids is None:
        return None
    return [decode_id(g, type_name, field) for g in global_ids]
