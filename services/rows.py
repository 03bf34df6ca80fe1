"""Rows of hand-written statements as objects with a model's attribute names.

A hot read (services/chat_relations.py, services/reads.my_chats) skips Tortoise's query
building and model hydration; its rows still read like the model (`row.created_at`,
`row.status`), so the schema's `from_model` constructors take them unchanged. Values are
converted as the model's fields convert them, but only where a raw row differs: SQLite's
text dates and 0/1 booleans, and enum columns (plain strings on both databases).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from tortoise.fields.data import BooleanField, CharEnumFieldInstance, DatetimeField, IntEnumFieldInstance


def row_reader(model: Any, columns: Iterable[str], prefix: str = "") -> Callable[[dict[str, Any]], SimpleNamespace]:
    """A function from a result row to an object with `columns` as attributes, read from the row's
    `prefix + column` keys and converted as `model`'s fields do (looked up on first use: a
    model's fields are complete only once Tortoise is initialised)."""
    columns, plain, converted = tuple(columns), [], []

    def read(row: dict[str, Any]) -> SimpleNamespace:
        if not plain and not converted:
            fields_map = model._meta.fields_map
            for column in columns:
                convert = _converter(fields_map.get(column))
                if convert is None:
                    plain.append((column, prefix + column))
                else:
                    converted.append((column, prefix + column, convert))
        values = {column: row[key] for column, key in plain}
        for column, key, convert in converted:
            value = row[key]
            values[column] = None if value is None else convert(value)
        return SimpleNamespace(**values)

    return read


def _converter(field: Any) -> Callable[[Any], Any] | None:
    """How to convert a non-null value of this field, or None when the driver's value is the model's."""
    if isinstance(field, (CharEnumFieldInstance, IntEnumFieldInstance)):
        members = {member.value: member for member in field.enum_type}  # a lookup: Enum(value) is slow
        return members.__getitem__
    if isinstance(field, DatetimeField):  # asyncpg gives aware datetimes, SQLite text
        to_python = field.to_python_value
        return lambda value: value if isinstance(value, datetime) and value.tzinfo else to_python(value)
    if isinstance(field, BooleanField):
        return bool
    return None
