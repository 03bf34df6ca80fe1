"""The relations of a page of chats in one statement: client, operator, open channel, last
message and unread count, only those asked for.

Why: loaded one relation at a time (a DataLoader each), a 50-chat page took five statements
(the last message two), each built by Tortoise and hydrated into models: that cost more CPU
than PostgreSQL spent answering them. Here the selected relations are LEFT JOINs (the last
message through its id, the unread count a correlated count) of one hand-written statement,
and each relation comes back as its read model (services/chats/read_models.py), from which the
schema's types build.

The caller passes chats the viewer may see; what the viewer may see of them is applied here
as everywhere: a visitor's last message is never a silent note, unread counts are an
operator's own (a visitor's are 0).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any

from services.chats.read_models import ClientRow, MessageRow, OpenChannelRow, OperatorRow
from services.common import raw_sql
from services.common.read_models import compiled_row_reader, select_list
from services.identity.viewer import Viewer
from services.policies import messages as message_policy
from services.common.transactions import default_connection

#: relation name -> (table alias, read model); the columns are the read model's, the join is in _JOINS
_COLUMNS: dict[str, tuple[str, type]] = {
    "client": ("cl", ClientRow),
    "operator": ("op", OperatorRow),
    "open_channel": ("oc", OpenChannelRow),
    "last_message": ("lm", MessageRow),
}
_JOINS = {
    "client": "LEFT JOIN client cl ON cl.id = c.client_id",
    "operator": "LEFT JOIN operator op ON op.id = c.operator_id",
    "open_channel": "LEFT JOIN open_channel oc ON oc.id = c.open_channel_id",
    "last_message": "LEFT JOIN message lm ON lm.id = (SELECT MAX(m.id) FROM message m WHERE m.chat_id = c.id{silent})",
}
#: messages after the operator's read marker that someone else wrote (services/reads.unread_counts too);
#: the marker is read once per chat (joined to every message, it was probed once per message)
_UNREAD = (
    "(SELECT COUNT(*) FROM message u WHERE u.chat_id = c.id AND u.id > COALESCE((SELECT r.last_read_message_id "
    "FROM read_marker r WHERE r.chat_id = c.id AND r.operator_id = {operator}), 0) "
    "AND (u.author_id IS NULL OR u.author_id <> {operator}))"
)
RELATIONS = (*_COLUMNS, "unread_count")
#: relation name -> the column of the chat (aliased `c`) its join reads
JOIN_KEYS = {"client": "client_id", "operator": "operator_id", "open_channel": "open_channel_id"}
#: relations read whole whatever the caller reads of them: a page's operators prime the request's
#: operator loader (resolvers/prefetch.prime_relations), which other fields read whole
_READ_WHOLE = frozenset({"operator"})


def with_join_keys(read: Set[str] | None, wanted: Set[str]) -> frozenset[str] | None:
    """The chat's columns a caller reads (None: all) with those the `wanted` relations join on."""
    return None if read is None else frozenset({*read, *(JOIN_KEYS[name] for name in wanted if name in JOIN_KEYS)})


@functools.lru_cache(maxsize=256)
def _selected(name: str, read: frozenset[str] | None) -> str:
    """The relation's select list (each column aliased `<relation>__<column>`), with only `read`
    (and its id) or, None, every column of its read model."""
    alias, read_model = _COLUMNS[name]
    return select_list(read_model, alias, None if read is None else read | {"id"}, prefix=f"{name}__")


async def chat_relations(viewer: Viewer, chat_ids: list[int], wanted: set[str]) -> dict[int, dict[str, Any]]:
    """Per chat id: {relation: its read model or None (unread_count: an int)} for the `wanted` relations."""
    wanted = {name for name in wanted if name in RELATIONS}
    if not chat_ids or not wanted:
        return {}
    values: list[Any] = []
    param = numbered(values)
    columns, joins = relation_sql(viewer, wanted, param)
    ids = ", ".join(param(chat_id) for chat_id in chat_ids)
    sql = f"SELECT c.id, {columns} FROM chat c {joins} WHERE c.id IN ({ids})"
    read = relations_reader(wanted)
    return {row["id"]: read(row) for row in await raw_sql.records(default_connection(), sql, *values)}


def with_relations(viewer: Viewer, chats_sql: str, wanted: Set[str], param: Callable[[Any], str],
                   order_by: str = "", columns: Mapping[str, Set[str]] | None = None, chat_columns: str = "c.*",
                   ) -> tuple[str, Callable[[Sequence[Any]], dict[int, dict[str, Any]]]]:
    """`chats_sql` (a statement whose rows are chats, its values added with `param` before) with the
    `wanted` relations joined to each row, and the function that reads them from the result rows:
    per chat id, as chat_relations gives them. `order_by` orders the joined rows (aliased `c`):
    the order of `chats_sql` is not kept. Without relations: `chats_sql` as it is. `columns`: per
    relation, the columns of its read model the caller reads (relation_sql). `chat_columns`: the
    chats' columns of the result, of the rows of `chats_sql` aliased `c` (by default all)."""
    wanted = {name for name in wanted if name in RELATIONS}
    if not wanted:
        return chats_sql, lambda rows: {}
    selected, joins = relation_sql(viewer, wanted, param, columns)
    read = relations_reader(wanted)
    sql = f"WITH chats AS ({chats_sql}) SELECT {chat_columns}, {selected} FROM chats c {joins}"
    return sql + (f" ORDER BY {order_by}" if order_by else ""), lambda rows: {row["id"]: read(row) for row in rows}


def numbered(values: list[Any]) -> Callable[[Any], str]:
    """A function that adds a value to `values` and gives its placeholder ($1, $2, ...)."""
    def param(value: Any) -> str:
        values.append(value)
        return f"${len(values)}"

    return param


def ids_inline(values: list[Any]) -> Callable[[Any], str]:
    """Like `numbered`, except that an integer (an id: the viewer's, a channel's of a filter) is
    written into the statement as a numeral, never a placeholder (anything else: a placeholder).

    For the lists every console polls, read with the same viewer and filter over and over: a
    statement without placeholders is planned once per connection and its plan kept with the
    driver's prepared statement, while one with placeholders is planned again at each run
    (PostgreSQL's custom plans, which its planner keeps choosing for these statements): 0.4-0.9 ms
    of PostgreSQL's CPU per request for conversations(first: 50) and myChats (bench/HISTORY.md, "Tenth
    pass"). Only integers, formatted by int(): nothing sent by a client reaches the text. Not for
    values that differ at each request (a keyset's bounds, a page's chat ids): each would be a
    statement of its own, crowding the driver's cache of prepared statements."""
    param = numbered(values)

    def inline(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(int(value))
        return param(value)

    return inline


def relation_sql(viewer: Viewer, wanted: set[str], param: Callable[[Any], str],
                 columns: Mapping[str, Set[str]] | None = None) -> tuple[str, str]:
    """(the select list, the joins) that add the `wanted` relations to rows of chats aliased `c`
    (with `id` and the `JOIN_KEYS` columns): a table or a subquery. `columns`: per relation, the
    columns of its read model the caller reads (its id is always read); a relation it does not name
    is read whole, and so is the operator (`_READ_WHOLE`). The others are None in its read model."""
    selected, joins = [], []
    for name in _COLUMNS:
        if name in wanted:
            read = None if columns is None or name in _READ_WHOLE else columns.get(name)
            selected.append(_selected(name, None if read is None else frozenset(read)))
            join = _JOINS[name]
            if name == "last_message":  # a visitor's last message is never a silent note
                readable = message_policy.readable_in_chat_sql(viewer, "m", param)
                join = join.format(silent=f" AND {readable}" if readable else "")
            joins.append(join)
    if "unread_count" in wanted:
        unread = _UNREAD.format(operator=param(viewer.operator_id)) if viewer.operator_id is not None else "0"
        selected.append(f"{unread} AS unread_count")
    return ", ".join(selected), " ".join(joins)


def relations_reader(wanted: set[str]) -> Callable[[Any], dict[str, Any]]:
    """A function from a row of relation_sql's columns to {relation: value} (as chat_relations
    gives). Made per statement: an operator is read once per statement (a page has few, each on
    many chats), and the caller primes the request's operator loader with them, so that
    participants, authors and members elsewhere in the selection do not load them again (the
    loader's readers take the model's attributes, which an OperatorRow has)."""
    operators: dict[int, OperatorRow] = {}
    return _reader_of(frozenset(name for name in RELATIONS if name in wanted))(operators)


@functools.lru_cache(maxsize=64)
def _reader_of(wanted: frozenset[str]) -> Callable[[dict[int, OperatorRow]], Callable[[Any], dict[str, Any]]]:
    """relations_reader's function for `wanted`, generated: one dict display of the relations in
    the order of RELATIONS, each read inline (a 50-chat page reads some 200; a loop over them with
    a call each cost a fifth of reading the rows). Made by calling it with the statement's
    operators."""
    env: dict[str, Any] = {}
    entries = []
    for name, (_, read_model) in _COLUMNS.items():
        if name not in wanted:
            continue
        env[f"read_{name}"] = compiled_row_reader(read_model, f"{name}__")
        if name == "operator":  # one OperatorRow per operator of the statement
            entries.append("'operator': None if (pk := row['operator__id']) is None else "
                           "(found if (found := operators.get(pk)) is not None "
                           "else operators.setdefault(pk, read_operator(row)))")
        else:
            entries.append(f"{name!r}: None if row[{name + '__id'!r}] is None else read_{name}(row)")
    if "unread_count" in wanted:
        entries.append("'unread_count': int(row['unread_count'] or 0)")
    source = ("def reader(operators):\n"
              "    def read(row):\n"
              f"        return {{{', '.join(entries)}}}\n"
              "    return read\n")
    exec(compile(source, "<chat relations reader>", "exec"), env)  # noqa: S102 - names from _COLUMNS
    return env["reader"]
