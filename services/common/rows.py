"""Rows of hand-written statements as objects with a model's attribute names.

A hot read (services/chats/chat_relations.py, services/reads.my_chats) skips Tortoise's query
building and model hydration; its rows still read like the model (`row.created_at`,
`row.status`), so the schema's `from_model` constructors take them unchanged. Values are
converted as the model's fields convert them, but only where a raw row differs: SQLite's
text dates and 0/1 booleans, and enum columns (plain strings on both databases).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from tortoise.fields.data import BooleanField, CharEnumFieldInstance, DatetimeField, IntEnumFieldInstance


def row_reader(model: Any, columns: Iterable[str], prefix: str = "") -> Callable[[dict[str, Any]], SimpleNamespace]:
    """A function from a result row to an object with `columns` as attributes, read from the row's
    `prefix + column` keys and converted as `model`'s fields do (looked up on first use: a
    model's fields are complete only once Tortoise is initialised)."""
    columns = tuple(columns)
    compiled: list[Callable[[Any], SimpleNamespace]] = []

    def read(row: Any) -> SimpleNamespace:
        if not compiled:
            compiled.append(compiled_row_reader(model, columns, prefix))
        return compiled[0](row)

    return read


@functools.lru_cache(maxsize=256)
def compiled_row_reader(model: Any, columns: tuple[str, ...], prefix: str = "") -> Callable[[Any], SimpleNamespace]:
    """row_reader's function, for use once Tortoise is initialised: one generated function
    (`SimpleNamespace(id=row["id"], status=..., ...)`, each conversion written inline): a page
    reads hundreds of rows, and a loop over the columns with a dict and a function call per
    converted value cost twice as much. Compiled once per (model, columns, prefix). Column
    names come from the code, never from input."""
    fields_map = model._meta.fields_map
    env: dict[str, Any] = {"SimpleNamespace": SimpleNamespace, "datetime": datetime}
    lines, arguments = [], []
    for index, column in enumerate(columns):
        if not column.isidentifier():
            raise ValueError(f"not a column name: {column!r}")
        value = f"value{index}"
        lines.append(f"    {value} = row[{prefix + column!r}]")
        arguments.append(f"{column}={_conversion(fields_map.get(column), value, env)}")
    source = "def read(row):\n" + "".join(line + "\n" for line in lines) + \
        f"    return SimpleNamespace({', '.join(arguments)})\n"
    exec(source, env)  # noqa: S102 - generated from the column names above
    return env["read"]


def _conversion(field: Any, value: str, env: dict[str, Any]) -> str:
    """The expression converting `value` (a variable holding the driver's value) as the model's
    field does; what a conversion needs is added to `env`. Only where a raw value differs: enum
    columns (plain strings on both databases), SQLite's text dates and 0/1 booleans (asyncpg
    gives aware datetimes and booleans, left as they are)."""
    if isinstance(field, (CharEnumFieldInstance, IntEnumFieldInstance)):
        env[f"members_{value}"] = {member.value: member for member in field.enum_type}  # Enum(value) is slow
        return f"None if {value} is None else members_{value}[{value}]"
    if isinstance(field, DatetimeField):
        env[f"to_python_{value}"] = field.to_python_value
        return (f"{value} if {value} is None or ({value}.__class__ is datetime and {value}.tzinfo is not None) "
                f"else to_python_{value}({value})")
    if isinstance(field, BooleanField):
        return f"{value} if {value} is None or {value}.__class__ is bool else bool({value})"
    return value
