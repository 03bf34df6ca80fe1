"""Where each operator has read a chat up to: everything after the marker is unread for them."""
from __future__ import annotations

from models import ReadMarker
from services.common import raw_sql
from services.events.events import UnitOfWork


def move_forward_sql(chat: str, operator: str, message: str, *, source: str = "") -> str:
    """The UPDATE moving a marker forward to `message` (SQL expressions of the statement it is
    in; `source`: a FROM clause they read from). It changes nothing when the marker is missing."""
    return (f"UPDATE read_marker SET last_read_message_id = {message}{source} WHERE read_marker.chat_id = {chat} "
            f"AND read_marker.operator_id = {operator} AND read_marker.last_read_message_id < {message}")


_MOVE = "UPDATE read_marker SET last_read_message_id = $3 WHERE chat_id = $1 AND operator_id = $2"
_MOVE_FORWARD = move_forward_sql("$1", "$2", "$3")


async def move_read_marker(uow: UnitOfWork, *, chat_id: int, operator_id: int, message_id: int,
                           forward_only: bool = True) -> None:
    """Put the operator's marker at `message_id`.

    Reading only ever moves it forward (a late "read" never hides newer messages);
    markMessageUnread moves it back on purpose with `forward_only=False`.

    The common case (the marker exists and moves) is one UPDATE; only when it changed nothing
    is the marker looked up, and created when missing.
    """
    if await raw_sql.execute(uow.tx, _MOVE_FORWARD if forward_only else _MOVE, chat_id, operator_id, message_id):
        return
    marker, created = await ReadMarker.get_or_create(
        chat_id=chat_id, operator_id=operator_id, defaults={"last_read_message_id": message_id}, using_db=uow.tx
    )
    if created:
        return
    query = ReadMarker.filter(id=marker.id)
    if forward_only:
        query = query.filter(last_read_message_id__lt=message_id)
    await query.using_db(uow.tx).update(last_read_message_id=message_id)
