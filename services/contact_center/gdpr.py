"""GDPR: erase a client's personal data for good, and export everything stored about them.

Who may: admins only (services/policies/clients.py `ensure_may_erase`, `ensure_may_export`).

What the erasure does, in ONE transaction (the client row locked first, so two erasures of one
client run one after the other, and the second finds nothing left to erase):

- the client: name `ERASED_NAME`, e-mail, phone, external id and verified identity cleared; their
  attributes, visitor sessions (their tokens stop working) and connector identity (the outside
  user id; a new message from that user starts a new client) deleted, their CRM link removed and
  the CRM contact and lead made from their data blanked;
- every message of their chats: the row stays (statistics keep their counts: author, silent,
  deleted and times are kept), its text becomes `ERASED_TEXT`; the search index follows the
  text (PostgreSQL's generated tsvector columns are recomputed by the UPDATE, SQLite's FTS5
  triggers replace the entry), so no search finds the old words;
- copies of those texts: quotes of them (`message_reference.quoted_text`), feed posts and tasks
  made from them, the rating comments of their chats;
- chat titles: a chat of theirs whose title holds their name, e-mail, phone or external id is
  renamed `ERASED_NAME`; a chat made from one of theirs (a discussion, a conversation started
  from a message) keeps its title and texts without those words; so do the stored events of all
  those chats (`state.title`, `detail`);
- files: the attachment rows of their chats are deleted in the transaction, the stored bytes
  right after the commit (a storage failure leaves an orphan object, logged, never undoes the
  erasure: services/messaging/files.py `remove_stored`).

A CLIENT_ERASED event (actor: the admin) is written in the transaction, plus one per renamed
chat (`queue_kind` CHAT_RENAMED, `chat_kind` CHAT_UPDATED: open consoles show the new title).
Erasing twice is fine: the second run finds the same rows and leaves them as they are.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery

from infrastructure.file_storage import FileStorage
from models import (
    Attachment, Chat, ChatRating, Client, ConnectorClient, ConnectorOutbox, CrmClientLink, CrmContact, CrmLead, Event,
    FeedPost, Message, MessageReference, Task, VisitorSession,
)
from services.chats.audience import audience
from services.events.events import unit_of_work
from services.events.records import EventKind
from services.identity.auth import ValidTokens, forget_tokens
from services.identity.viewer import Viewer
from services.messaging.files import remove_stored
from services.policies import clients as policy
from services.policies import connectors as connector_policy
from services.policies import crm as crm_policy
from services.policies import feed_posts as feed_policy
from services.policies import messages as message_policy
from services.policies import tasks as task_policy
from services.policies.chats import visible_chats
from services.policies.conditions import apply

#: what an erased client is called, and what an erased chat title becomes
ERASED_NAME = "Erased client"
#: what an erased text becomes (message texts, quotes, feed posts, task titles)
ERASED_TEXT = "[erased]"
#: identifying words shorter than this are not searched for inside other texts (a two-letter name
#: would blank every word holding it); whole fields (the client's own) are cleared whatever their length
MIN_WORD = 3


@dataclass(frozen=True)
class Erasure:
    client: Client
    chat_ids: list[int]
    messages: int
    files: int


def _blanker(words: Iterable[str | None]) -> re.Pattern[str] | None:
    """One case-insensitive pattern of the identifying words (longest first), None when there are none."""
    found = sorted({w.strip() for w in words if w and len(w.strip()) >= MIN_WORD}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in found), re.IGNORECASE) if found else None


def _blanked(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """The value (a string, or JSON: lists and dicts of them) with every identifying word replaced."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(ERASED_TEXT, value)
    if isinstance(value, list):
        return [_blanked(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _blanked(v, pattern) for k, v in value.items()}
    return value


async def erase_client(viewer: Viewer, *, client_id: int, storage: FileStorage | None,
                       trusted: ValidTokens | None = None) -> Erasure:
    """Erase the client's personal data (see the module's docstring); `storage`: where the files'
    bytes are (None: rows only, for a caller without file storage); `trusted`: this process's token
    cache, which forgets the client's visitor tokens at once (other processes: within
    TOKEN_CACHE_SECONDS, as for a revoked operator token)."""
    async with unit_of_work(viewer) as uow:
        client = await policy.ensure_may_erase(viewer, client_id, uow.tx)
        tx = uow.tx
        # (erasing again: the name given by the first erasure is not theirs)
        words = _blanker([client.name if client.name != ERASED_NAME else None, client.email, client.phone,
                          client.external_id])
        chats_query, attributes = policy.everything_of(viewer, client.id)
        own = cast(list[int], await chats_query.using_db(tx).values_list("id", flat=True))
        made_from = cast(list[int], await visible_chats(viewer).filter(parent_chat_id__in=own).exclude(id__in=own)
                         .using_db(tx).values_list("id", flat=True)) if own else []

        def erased() -> Subquery:
            """Their messages (a subquery: a client may have more messages than a statement takes parameters)."""
            return Subquery(message_policy.of_chats(viewer, own).values("id"))

        messages = await message_policy.of_chats(viewer, own).using_db(tx).count() if own else 0
        if messages:
            await message_policy.of_chats(viewer, own).using_db(tx).update(text=ERASED_TEXT)
            # copies of their texts: quotes, feed posts and tasks made from them
            await MessageReference.filter(Q(quoted_message_id__in=erased()) | Q(quoted_chat_id__in=own)) \
                .using_db(tx).update(quoted_text=ERASED_TEXT)
            await feed_policy.visible(viewer).filter(source_message_id__in=erased()).using_db(tx) \
                .update(text=ERASED_TEXT)
            # their replies not yet relayed to a messenger are not sent (their text is gone)
            await apply(ConnectorOutbox.filter(message_id__in=erased(), delivered_at=None),
                        connector_policy.readable(viewer)).using_db(tx).delete()
        if own:
            await task_policy.visible(viewer).filter(Q(source_message_id__in=erased()) | Q(chat_id__in=own)) \
                .using_db(tx).update(title=ERASED_TEXT, description="")
            await ChatRating.filter(chat_id__in=own).using_db(tx).update(comment=None)
        await _blank_chats_made_from(viewer, tx, made_from, words)
        renamed = await _rename_chats(viewer, tx, own, made_from, words)
        await _blank_events(tx, own + made_from, words)
        files = await Attachment.filter(Q(chat_id__in=own) | Q(uploaded_by_client_id=client.id)).using_db(tx) \
            .values_list("storage_key", flat=True)
        await Attachment.filter(Q(chat_id__in=own) | Q(uploaded_by_client_id=client.id)).using_db(tx).delete()
        sessions = await _erase_identity(viewer, tx, client)
        await attributes.using_db(tx).delete()
        await Client.filter(id=client.id).using_db(tx).update(
            name=ERASED_NAME, email=None, phone=None, external_id=None, identity_channel_id=None)
        for chat in renamed:
            uow.record(EventKind.CLIENT_ERASED, chat=chat, queue_kind="CHAT_RENAMED", chat_kind="CHAT_UPDATED",
                       operator_ids=await audience(uow, chat))
        uow.record(EventKind.CLIENT_ERASED, chat=None, detail={
            "client_id": client.id, "chat_ids": own, "messages": messages, "files": len(files)})
    forget_tokens(trusted, sessions)
    if storage is not None and files:
        await remove_stored(storage, cast(list[str], list(files)))
    return Erasure(await Client.get(id=client.id), own, messages, len(files))


async def _blank_chats_made_from(viewer: Viewer, tx: BaseDBAsyncClient, chat_ids: list[int],
                                 words: re.Pattern[str] | None) -> None:
    """Chats made from the client's (a discussion names its source chat, quotes its message): their
    texts keep everything but the client's identifying words."""
    if not chat_ids or words is None:
        return
    for message_id, text in await message_policy.of_chats(viewer, chat_ids).using_db(tx).values_list("id", "text"):
        if words.search(text):
            await Message.filter(id=message_id).using_db(tx).update(text=_blanked(text, words))


async def _rename_chats(viewer: Viewer, tx: BaseDBAsyncClient, own: list[int], made_from: list[int],
                        words: re.Pattern[str] | None) -> list[Chat]:
    """The chats whose title holds an identifying word, renamed: the client's own ERASED_NAME, a chat
    made from theirs ("Discussion: <their name>") keeps its title without the words. The chats as changed."""
    if not (own or made_from) or words is None:
        return []
    renamed = []
    for chat in await visible_chats(viewer).filter(id__in=own + made_from).using_db(tx).order_by("id"):
        if not words.search(chat.title):
            continue
        title = ERASED_NAME if chat.id in own else _blanked(chat.title, words)
        await Chat.filter(id=chat.id, title=chat.title).using_db(tx).update(title=title)
        chat.title = title
        renamed.append(chat)
    return renamed


async def _blank_events(tx: BaseDBAsyncClient, chat_ids: list[int], words: re.Pattern[str] | None) -> None:
    """The stored events of these chats without the identifying words (a state's title, a rename's
    old title, a transfer's comment): replayed events then show what the chats show."""
    if not chat_ids or words is None:
        return
    for event_id, state, detail in await Event.filter(chat_id__in=chat_ids).using_db(tx) \
            .values_list("id", "state", "detail"):
        new_state, new_detail = _blanked(state, words), _blanked(detail, words)
        if new_state != state or new_detail != detail:
            await Event.filter(id=event_id).using_db(tx).update(state=new_state, detail=new_detail)


async def _erase_identity(viewer: Viewer, tx: BaseDBAsyncClient, client: Client) -> list[str]:
    """Visitor sessions, the connector identity, the CRM link and the CRM records made from the client;
    the token hashes of the sessions deleted."""
    sessions = cast(list[str], await VisitorSession.filter(client_id=client.id).using_db(tx)
                    .values_list("token_hash", flat=True))
    await VisitorSession.filter(client_id=client.id).using_db(tx).delete()
    identities = apply(ConnectorClient.filter(client_id=client.id), connector_policy.readable(viewer))
    await identities.using_db(tx).delete()
    link = await crm_policy.records(viewer, CrmClientLink, client_id=client.id).using_db(tx).first()
    if link is None:
        return sessions
    if link.contact_id is not None:
        await crm_policy.records(viewer, CrmContact, id=link.contact_id).using_db(tx).update(
            name=ERASED_NAME, email=None, phone=None)
    leads = [i for i in (link.lead_id,) if i is not None]
    if link.contact_id is not None:
        leads += cast(list[int], await crm_policy.records(viewer, CrmLead, contact_id=link.contact_id).using_db(tx)
                      .values_list("id", flat=True))
    if leads:
        await crm_policy.records(viewer, CrmLead, id__in=leads).using_db(tx).update(
            title=ERASED_NAME, name=ERASED_NAME, email=None, phone=None)
    await crm_policy.records(viewer, CrmClientLink, id=link.id).using_db(tx).delete()
    return sessions


# --------------------------------------------------------------------------- export


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _plain_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


async def _first(rows: Awaitable[list[dict[str, Any]]]) -> dict[str, Any] | None:
    found = await rows
    return found[0] if found else None


async def client_export(viewer: Viewer, *, client_id: int) -> dict[str, Any]:
    """Everything stored about the client (GET /exports/clients/{id}.json): their record, attributes,
    chats with every message (silent notes included, flagged), ratings, files (metadata and the
    download path; the bytes at /files/{id}), visitor sessions (when, where: never a token's hash),
    connector identities and CRM records. Values as stored; times in ISO 8601."""
    client = await policy.ensure_may_export(viewer, client_id)
    chats_query, attributes = policy.everything_of(viewer, client.id)
    chats = await chats_query.order_by("id").values(
        "id", "kind", "title", "status", "priority", "open_channel_id", "operator_id", "created_at", "answered_at",
        "first_response_at", "closed_at")
    chat_ids = [c["id"] for c in chats]
    messages = await message_policy.of_chats(viewer, chat_ids).order_by("id").values(
        "id", "chat_id", "author_kind", "author_id", "text", "silent", "deleted", "created_at", "edited_at")
    files = await Attachment.filter(Q(chat_id__in=chat_ids) | Q(uploaded_by_client_id=client.id)).order_by("id") \
        .values("id", "chat_id", "message_id", "name", "content_type", "size", "created_at")
    link = await crm_policy.records(viewer, CrmClientLink, client_id=client.id).first()
    return {
        "client": {"id": client.id, "name": client.name, "email": client.email, "phone": client.phone,
                   "external_id": client.external_id, "identity_channel_id": client.identity_channel_id,
                   "created_at": _plain(client.created_at)},
        "attributes": _plain_rows(await attributes.order_by("key").values("key", "value", "updated_at")),
        "chats": _plain_rows(chats),
        "messages": _plain_rows(messages),
        "ratings": _plain_rows(await ChatRating.filter(chat_id__in=chat_ids).order_by("chat_id")
                         .values("chat_id", "vote", "comment", "requested_at", "rated_at")),
        "files": [{**row, "download_path": f"/files/{row['id']}"} for row in _plain_rows(files)],
        "visitor_sessions": _plain_rows(await VisitorSession.filter(client_id=client.id).order_by("id")
                                  .values("open_channel_id", "created_at")),
        "connector_identities": _plain_rows(await apply(ConnectorClient.filter(client_id=client.id),
                                                  connector_policy.readable(viewer)).values("connector_id", "external_id")),
        "crm": {
            "contact": await _first(crm_policy.records(viewer, CrmContact, id=link.contact_id)
                                    .values("id", "name", "email", "phone", "company_id"))
            if link is not None and link.contact_id is not None else None,
            "lead": await _first(crm_policy.records(viewer, CrmLead, id=link.lead_id)
                                 .values("id", "title", "name", "email", "phone"))
            if link is not None and link.lead_id is not None else None,
        },
    }
