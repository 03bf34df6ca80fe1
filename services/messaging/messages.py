"""Writing messages: an operator's (visible or silent) and a visitor's."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from models import Chat, ChatStatus, Client, Message, MessageAuthorKind
from services.messaging import files
from services.messaging import messaging
from services.chats import queue, sla
from services.common import raw_sql
from services.common.model_rows import model_of_row
from services.policies import chats as chat_policy
from services.policies.chats import ChatRoles, ensure
from services.chats.chat_states import ACTIVE, Action, allowed_from, ensure_allowed, transition
from services.chats.chats import add_participant, auto_close_deadline, auto_close_deadline_sql
from services.common.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from services.events.events import UnitOfWork, unit_of_work
from services.events.records import ChatEventKind, EventKind
from services.chats.read_markers import move_forward_sql, move_read_marker
from services.chats import visitors
from services.chats.after_hours import tell_if_closed
from services.chats.visitors import open_customer_chat
from services.identity.viewer import Viewer, require_visitor
from services.common.text_input import MAX_TEXT_LENGTH, clean_text, text_input  # noqa: F401 (MAX_TEXT_LENGTH: for callers)

@text_input()
async def send_message(viewer: Viewer, *, chat_id: int, text: str, silent: bool = False,
                       attachment_ids: Sequence[int] = (), reply_to_message_id: int | None = None,
                       quote_message_id: int | None = None, mention_operator_ids: Sequence[int] = ()) -> Message:
    """An operator writes in an answered chat; `silent` notes are for operators only.

    The message may carry uploaded files, reply to or quote a message, and mention colleagues
    (services/messaging/messaging.py, services/messaging/files.py): the mentioned are notified on their chat list.
    """
    text = clean_text(text, ["input", "text"], allow_empty=bool(attachment_ids))
    _require_operator(viewer)
    me, at = viewer.operator_id, queue.now()
    assert me is not None  # _require_operator admits operators only
    draft = _Draft(chat_id, me, text, silent, at)
    # the chat's row locked in BEGIN's round trip (PostgreSQL); whether the caller may see it is
    # decided after the lock, from the roles read with it
    async with unit_of_work(viewer, lock=("chat", chat_id)) as uow:
        if raw_sql.is_postgres(uow.tx):
            # the chat, its SEND_MESSAGE transition (when its state allows it: the checks below still
            # decide; a refusal rolls it back), the roles and the message in one statement
            chat, target = await _touch_roles_and_write(uow, viewer, draft)
            touched = target.touched
        else:
            chat, touched = await _touch_or_read(uow, draft)
            target = await _chat_to_write_in(uow, viewer, chat, touched=touched)
        ensure(target.roles.can_write,
               "Only the chat's operators can write in it; answer it or ask to be added.")
        reply_to, quoted, mentioned = await messaging.check_references(
            uow, viewer, chat, reply_to_message_id=reply_to_message_id, quote_message_id=quote_message_id,
            mention_operator_ids=list(mention_operator_ids), silent=silent)
        if not touched:
            ensure_allowed(Action.SEND_MESSAGE, chat)  # INVALID_STATE: the chat's state does not allow it
        if not target.roles.participant:
            await add_participant(uow, chat, me)
        message = await _insert_message_and_read(uow, draft, written=target.written)
        if not silent and not (touched and raw_sql.is_postgres(uow.tx)):  # else met in the roles' statement
            await sla.replied(uow, chat.id)  # a visible reply: no client message waits (NEXT_RESPONSE met)
        await messaging.write_references(uow, message, reply_to=reply_to, quoted=quoted, mentioned=mentioned)
        await files.attach_uploads(uow, viewer, chat, message, list(attachment_ids))
        uow.record(EventKind.MESSAGE_ADDED, chat=chat, chat_kind=ChatEventKind.MESSAGE_ADDED, message_id=message.id,
                   operator_ids=target.audience | {me} | set(mentioned), visitor_visible=not silent)
    return message


# ---------------------------------------------------------------- sendMessage's statements
# sendMessage is the busiest write: its steps are short statements of their own rather than
# Tortoise queries (services/common/raw_sql.py), and what operator_chat, roles_in_chat, channel_of,
# transition and audience do one by one takes three statements.


#: the columns of an operator's message, in the order of _Draft.values()
_MESSAGE_COLUMNS = "chat_id, author_kind, author_id, text, silent, created_at, deleted"
#: an operator's message's `author_kind`, as stored
_OPERATOR = MessageAuthorKind.OPERATOR.value


@dataclass(frozen=True)
class _Draft:
    """The operator's message to write."""

    chat_id: int
    author_id: int
    text: str
    silent: bool
    at: datetime

    def values(self) -> dict:
        return {"chat_id": self.chat_id, "author_kind": _OPERATOR, "author_id": self.author_id,
                "text": self.text, "silent": self.silent, "created_at": self.at, "deleted": False}


@dataclass(frozen=True)
class _Written:
    """The message written in the round trip of the roles, and whether the writer's read marker
    moved to it (False: the marker is missing and must be created)."""

    message_id: int
    marker_moved: bool


@dataclass(frozen=True)
class _ChatToWriteIn:
    roles: ChatRoles
    #: services.chats.audience before this message: responsible, participants, offered
    audience: set[int]
    #: the message, when it was written with the roles (PostgreSQL, the writer a participant)
    written: _Written | None = None
    #: the SEND_MESSAGE transition was made (the chat's state allowed it)
    touched: bool = False


_READ_CHAT = "SELECT * FROM chat WHERE id = $1"
#: the caller's roles and the chat's audience, from the chat policy's relations (services/policies/chats.py)
_OPERATORS_OF_CHAT = chat_policy.roles_sql(chat="$1", channel="$2", me="$3")
_SEND_MESSAGE_STATUSES = ", ".join(f"'{s.value}'" for s in sorted(allowed_from(Action.SEND_MESSAGE)))


def _touch_sql(*, chat: str, at: str, silent: str, postgres: bool) -> str:
    """The SEND_MESSAGE transition's UPDATE (chat_states.transition as one statement), written once
    for both backends: PostgreSQL runs it as a CTE of _TOUCH_ROLES_AND_WRITE, SQLite as _TOUCH. The
    activity at `at`; the auto-close deadline from it (chats.auto_close_deadline_sql: none for a
    pinned chat or one without a channel); the first response at `at` when this message is visible
    (`silent` false) and the chat had none (the row is locked: the NULL it reads still holds).
    `chat`, `at`, `silent`: the placeholders of the statement it is part of."""
    # PostgreSQL infers a placeholder's type from its first use: the casts keep the shared ones typed
    typed_at, silent = (f"{at}::timestamptz", f"{silent}::boolean") if postgres else (at, silent)
    return (f"UPDATE chat SET last_activity_at = {at}, "
            f"auto_close_at = {auto_close_deadline_sql(typed_at, postgres=postgres)}, "
            f"first_response_at = COALESCE(chat.first_response_at, CASE WHEN {silent} THEN NULL ELSE {at} END) "
            f"WHERE id = {chat} AND status IN ({_SEND_MESSAGE_STATUSES})")


def _require_operator(viewer: Viewer) -> None:
    if not viewer.is_operator:
        if viewer.is_visitor:
            raise Forbidden("A visitor token cannot do this.")
        raise Unauthenticated("Sign in: send `Authorization: Bearer <token>`.")


async def _touch_or_read(uow: UnitOfWork, draft: _Draft) -> tuple[Chat, bool]:
    """SQLite: the SEND_MESSAGE transition made (_TOUCH) when the chat's state allows it, and the
    chat as it is after it; else the chat as it is (NOT_FOUND: none). Whether it was made."""
    found = await raw_sql.rows(uow.tx, _TOUCH, draft.chat_id, draft.at, draft.silent)
    touched = bool(found)
    if not touched:
        found = await raw_sql.rows(uow.tx, _READ_CHAT, draft.chat_id)
        if not found:
            raise NotFound("No such chat.", field=["input", "chatId"])
    return model_of_row(Chat)(found[0]), touched


async def _chat_to_write_in(uow: UnitOfWork, viewer: Viewer, chat: Chat, *, touched: bool) -> _ChatToWriteIn:
    """SQLite: access.operator_chat's check for sendMessage: the caller's roles (NOT_FOUND with
    none), the audience."""
    operators = await raw_sql.rows(uow.tx, _OPERATORS_OF_CHAT, chat.id, chat.open_channel_id, viewer.operator_id)
    return _checked(viewer, chat, _by_role(operators), touched=touched)


def _by_role(operators: Sequence[Any]) -> dict[str, set[int]]:
    by_role: dict[str, set[int]] = {"participant": set(), "offered": set(), "member": set(), "touched": set(),
                                    "written": set(), "moved": set()}
    for operator in operators:
        by_role[operator["role"]].add(operator["operator_id"])
    return by_role


def _checked(viewer: Viewer, chat: Chat, by_role: dict[str, set[int]], *, touched: bool) -> _ChatToWriteIn:
    """The caller's roles (NOT_FOUND with none: an operator sees a chat exactly when they have a
    role in it, access.visible_chats) and the chat's audience."""
    roles = ChatRoles.of(viewer, chat, by_role)
    if not roles.can_see:
        raise NotFound("No such chat.", field=["input", "chatId"])
    audience = by_role["participant"] | by_role["offered"] | ({chat.operator_id} if chat.operator_id else set())
    written = _Written(min(by_role["written"]), bool(by_role["moved"])) if by_role["written"] else None
    return _ChatToWriteIn(roles, audience, written, touched)


async def _touch_roles_and_write(uow: UnitOfWork, viewer: Viewer, draft: _Draft) -> tuple[Chat, _ChatToWriteIn]:
    """PostgreSQL, the chat locked (`unit_of_work(lock=...)`): access.operator_chat's check for
    sendMessage in one statement (_TOUCH_ROLES_AND_WRITE): the chat, the caller's roles (NOT_FOUND
    with none), the audience, and, when the chat's state allows it, the SEND_MESSAGE transition
    made, and the message written when the writer is a participant already.

    The roles are read after the lock, as roles_in_chat does, and decide visibility too. The
    participants and offers read here are the audience at commit: they change only under this
    chat's lock. The checks that follow still decide, and a refusal rolls the writes back.
    """
    # the driver's records, read by name (a dict copy of each row, and of the chat's, cost more than reading them)
    found = await raw_sql.records(uow.tx, _TOUCH_ROLES_AND_WRITE, draft.chat_id, viewer.operator_id, draft.at,
                                  _OPERATOR, draft.text, draft.silent)
    by_role, chat_row = _by_role(()), None
    for row in found:  # one pass: the roles' rows by role, and the chat's row
        role = row["role"]
        if role == "chat":
            chat_row = row["chat"]
        else:
            by_role[role].add(row["operator_id"])
    if chat_row is None:
        raise NotFound("No such chat.", field=["input", "chatId"])
    chat = model_of_row(Chat)(chat_row)  # the row after the transition when it was made
    return chat, _checked(viewer, chat, by_role, touched=bool(by_role["touched"]))


# The transition (_touch_sql), the roles, the message with its writer's read marker moved to it
# (when the transition was made and the writer, $2, is a participant: one snapshot, so the roles
# returned are the ones the INSERT was decided on), and a visible message's reply to the client
# (services/chats/sla.py: NEXT_RESPONSE met). The UPDATEs and the INSERT are CTEs: each runs
# exactly once. The chat comes back as a row of its own: the transition's RETURNING when it was
# made, else the row as it is.
_TOUCH_ROLES_AND_WRITE = (
    f"WITH touched AS ({_touch_sql(chat='$1', at='$3', silent='$6', postgres=True)} RETURNING chat), "
    f"replied AS ({sla.replied_sql('$1')} AND NOT $6::boolean AND EXISTS (SELECT 1 FROM touched)), "
    f"written AS (INSERT INTO message ({_MESSAGE_COLUMNS}) "
    "SELECT $1::int, $4::varchar, $2::int, $5::text, $6::boolean, $3::timestamptz, false "
    "WHERE EXISTS (SELECT 1 FROM touched) "
    "AND EXISTS (SELECT 1 FROM chat_participant WHERE chat_id = $1 AND operator_id = $2) RETURNING id), "
    f"moved AS ({move_forward_sql('$1', '$2', 'written.id', source=' FROM written')} RETURNING 1) "
    "SELECT role, operator_id, NULL::chat AS chat FROM ("
    + chat_policy.roles_sql(chat="$1", channel="(SELECT open_channel_id FROM chat WHERE id = $1)", me="$2")
    + ") AS roles "
    "UNION ALL SELECT 'touched', 1, NULL FROM touched "
    "UNION ALL SELECT 'written', id, NULL FROM written UNION ALL SELECT 'moved', 1, NULL FROM moved "
    "UNION ALL SELECT 'chat', NULL, touched.chat FROM touched "
    "UNION ALL SELECT 'chat', NULL, chat FROM chat WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM touched)"
)


#: the statement under its public name: B3's hand-written endpoint (bench/baseline.py) runs it by hand, so
#: that it makes the server's writes for a message ($1 the chat, $2 the writer, $3 the time, $4 the author
#: kind, $5 the text, $6 silent; the chat's row locked first)
SEND_MESSAGE_STATEMENT = _TOUCH_ROLES_AND_WRITE


#: SQLite: the transition as a statement of its own ($1 the chat, $2 the time, $3 silent), the chat after it
_TOUCH = _touch_sql(chat="$1", at="$2", silent="$3", postgres=False) + " RETURNING *"


_INSERT_MESSAGE = (f"INSERT INTO message ({_MESSAGE_COLUMNS}) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
#: PostgreSQL: the message, and its writer's read marker moved forward to it, in one round trip
_INSERT_MESSAGE_AND_READ = (
    f"WITH written AS ({_INSERT_MESSAGE}), "
    f"moved AS ({move_forward_sql('$1', '$3', 'written.id', source=' FROM written')} RETURNING 1) "
    "SELECT written.id, (SELECT COUNT(*) FROM moved) AS moved FROM written"
)


async def _insert_message_and_read(uow: UnitOfWork, draft: _Draft, *, written: _Written | None) -> Message:
    """The operator's message, read by them: their marker moves to it (created when missing).
    `written`: the message is in the database already (_chat_to_write_in wrote it)."""
    values = draft.values()
    if written is None:
        postgres = raw_sql.is_postgres(uow.tx)
        rows = await raw_sql.rows(uow.tx, _INSERT_MESSAGE_AND_READ if postgres else _INSERT_MESSAGE, *values.values())
        written = _Written(rows[0]["id"], bool(postgres and rows[0]["moved"]))
    message = model_of_row(Message)({"id": written.message_id, "edited_at": None, **values})
    if not written.marker_moved:
        await move_read_marker(uow, chat_id=draft.chat_id, operator_id=draft.author_id, message_id=message.id)
    return message


@text_input()
async def send_visitor_message(viewer: Viewer, *, text: str, attachment_ids: Sequence[int] = ()) -> Message:
    """A visitor writes: into their open chat, or, when they have none, a new queued chat.

    Files (`attachment_ids`) must have been uploaded by this visitor to their open chat.
    """
    require_visitor(viewer)
    text = clean_text(text, ["input", "text"], allow_empty=bool(attachment_ids))
    async with unit_of_work(viewer) as uow:
        # Lock the client first: FOR UPDATE on "their open chat" locks nothing when there is
        # none, and two first messages at once would each open a chat.
        await Client.filter(id=viewer.client_id).using_db(uow.tx).select_for_update().first()
        chat = await (
            chat_policy.visible_chats(viewer).filter(status__in=[ChatStatus.QUEUED, ChatStatus.ACTIVE])
            .using_db(uow.tx).select_for_update().order_by("-id").first()
        )
        if chat is None:
            if attachment_ids:
                raise InvalidInput("Start the chat before sending files.", field=["input", "attachmentIds"])
            assert viewer.client_id is not None and viewer.visitor_channel_id is not None  # a visitor has both
            return await open_customer_chat(uow, client_id=viewer.client_id, channel_id=viewer.visitor_channel_id,
                                            text=text)
        channel = await queue.channel_of(uow, chat)
        changes: dict[str, Any] = {"last_activity_at": queue.now()}
        if chat.status == ACTIVE:
            changes["auto_close_at"] = auto_close_deadline(chat, channel)
        await transition(uow, chat, Action.VISITOR_MESSAGE, **changes)
        message = await add_client_message(uow, chat, text, viewer=viewer, attachment_ids=list(attachment_ids))
        await tell_if_closed(uow, chat, channel)  # a queued chat of a closed channel: once per chat
        return message


async def add_client_message(uow: UnitOfWork, chat: Chat, text: str, *, viewer: Viewer | None = None,
                             attachment_ids: list[int] | None = None) -> Message:
    message = await visitors.add_client_message(uow, chat, text)
    if attachment_ids and viewer is not None:
        await files.attach_uploads(uow, viewer, chat, message, attachment_ids)
    return message
