"""The relations of a page of chats in one statement: client, operator, open channel, last
message and unread count, only those asked for.

Why: loaded one relation at a time (a DataLoader each), a 50-chat page took five statements
(the last message two), each built by Tortoise and hydrated into models: that cost more CPU
than PostgreSQL spent answering them. Here the selected relations are LEFT JOINs (the last
message through its id, the unread count a correlated count) of one hand-written statement,
and each relation comes back as a plain row object with the model's attribute names, so
the schema's `from_model` constructors take it as they take a model.

The caller passes chats the viewer may see; what the viewer may see of them is applied here
as everywhere: a visitor's last message is never a silent note, unread counts are an
operator's own (a visitor's are 0).
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tortoise import connections
from tortoise.fields.data import BooleanField, CharEnumFieldInstance, DatetimeField, IntEnumFieldInstance

from models import Client, Message, OpenChannel, Operator
from services import raw_sql
from services.viewer import Viewer

#: relation name -> (table alias, model, columns); the join is in _JOINS
_COLUMNS: dict[str, tuple[str, Any, tuple[str, ...]]] = {
    "client": ("cl", Client, ("id", "name", "email", "phone")),
    "operator": ("op", Operator, ("id", "name", "email", "role", "status")),
    "open_channel": ("oc", OpenChannel, (
        "id", "name", "distribution", "answer_timeout_seconds", "auto_close_after_seconds", "rating_enabled",
        "welcome_message", "max_chats_per_operator")),
    "last_message": ("lm", Message, (
        "id", "chat_id", "author_id", "author_kind", "text", "silent", "created_at", "edited_at", "deleted")),
}
_JOINS = {
    "client": "LEFT JOIN client cl ON cl.id = c.client_id",
    "operator": "LEFT JOIN operator op ON op.id = c.operator_id",
    "open_channel": "LEFT JOIN open_channel oc ON oc.id = c.open_channel_id",
    "last_message": "LEFT JOIN message lm ON lm.id = (SELECT MAX(m.id) FROM message m WHERE m.chat_id = c.id{silent})",
}
#: messages after the operator's read marker that someone else wrote (as services/reads.unread_counts)
_UNREAD = (
    "(SELECT COUNT(*) FROM message u LEFT JOIN read_marker r ON r.chat_id = u.chat_id "
    "AND r.operator_id = {operator} WHERE u.chat_id = c.id AND u.id > COALESCE(r.last_read_message_id, 0) "
    "AND (u.author_id IS NULL OR u.author_id <> {operator}))"
)
RELATIONS = (*_COLUMNS, "unread_count")
_CONVERTED = (BooleanField, CharEnumFieldInstance, DatetimeField, IntEnumFieldInstance)


async def chat_relations(viewer: Viewer, chat_ids: list[int], wanted: set[str]) -> dict[int, dict[str, Any]]:
    """Per chat id: {relation: row object or None (unread_count: an int)} for the `wanted` relations."""
    wanted = {name for name in wanted if name in RELATIONS}
    if not chat_ids or not wanted:
        return {}
    sql, values = _statement(viewer, chat_ids, wanted)
    rows = await raw_sql.rows(connections.get("default"), sql, *values)
    readers = [(name, *_reader(name)) for name in _COLUMNS if name in wanted]
    result = {}
    for row in rows:
        relations = {name: read(row) for name, _, read in readers}
        if "unread_count" in wanted:
            relations["unread_count"] = int(row["unread_count"] or 0)
        result[row["chat_id"]] = relations
    return result


def _statement(viewer: Viewer, chat_ids: list[int], wanted: set[str]) -> tuple[str, list[Any]]:
    """The SELECT and its values (numbered as they are first used)."""
    values: list[Any] = []

    def param(value: Any) -> str:
        values.append(value)
        return f"${len(values)}"

    columns, joins = ["c.id AS chat_id"], []
    for name, (alias, _, names) in _COLUMNS.items():
        if name in wanted:
            columns += [f"{alias}.{column} AS {name}__{column}" for column in names]
            join = _JOINS[name]
            if name == "last_message":  # a visitor's last message is never a silent note
                join = join.format(silent="" if viewer.is_operator else f" AND m.silent = {param(False)}")
            joins.append(join)
    if "unread_count" in wanted:
        unread = _UNREAD.format(operator=param(viewer.operator_id)) if viewer.operator_id is not None else "0"
        columns.append(f"{unread} AS unread_count")
    ids = ", ".join(param(chat_id) for chat_id in chat_ids)
    sql = f"SELECT {', '.join(columns)} FROM chat c {' '.join(joins)} WHERE c.id IN ({ids})"
    return sql, values


def _reader(name: str) -> tuple[str, Any]:
    """(the relation's id column, a function from a result row to the relation's row object or None)."""
    _, model, names = _COLUMNS[name]
    fields_map = model._meta.fields_map
    keys = [(column, f"{name}__{column}", _converter(fields_map[column])) for column in names]
    id_key = f"{name}__id"

    def read(row: dict[str, Any]) -> SimpleNamespace | None:
        if row[id_key] is None:
            return None
        return SimpleNamespace(**{column: convert(row[key]) if convert else row[key] for column, key, convert in keys})

    return id_key, read


def _converter(field: Any) -> Any:
    """The field's own conversion for the types a raw row does not give as the model does (dates on
    SQLite, enums, SQLite's 0/1 booleans); None for the rest."""
    if not isinstance(field, _CONVERTED):
        return None
    return lambda value: None if value is None else field.to_python_value(value)
