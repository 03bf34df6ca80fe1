"""Files: uploads into a chat, attached to a message when it is sent, read back by those who may.

What holds:
- the content type is sniffed from the bytes; a file whose name promises another type than its
  bytes (a "photo.png" that is a PDF) and active content (HTML, SVG) are refused;
- a file is readable by whoever may read its message: operators who see the chat, the visitor
  unless it belongs to a silent note. Before it is sent, only its uploader reads it. A deleted
  message loses its files;
- operators fetch a file with their token; a visitor's link is signed and expires, because a
  browser fetches an <img> without an Authorization header.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import mimetypes
import os
import re
import secrets
import time
import unicodedata
import uuid
from pathlib import Path
from typing import Protocol

from models import Attachment, Chat, ChatStatus, Message
from services.access import get_visible_chat, operator_chat
from services.errors import Forbidden, InvalidInput, LimitExceeded, NotFound
from services.events import UnitOfWork, unit_of_work
from services.numerals import MAX_UNIX_TIME, parse_numeral
from services.viewer import Viewer

DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class FileStorage(Protocol):
    """Where the bytes of uploads live. Keys are opaque names made here (no path separators)."""

    async def save(self, key: str, data: bytes) -> None: ...

    async def load(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


class LocalFileStorage:
    """A folder on the server's disk (`FILES_DIR`). The S3 one is services/s3_storage.py."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    async def save(self, key: str, data: bytes) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".part")
            temporary.write_bytes(data)
            os.replace(temporary, path)

        await asyncio.to_thread(write)

    async def load(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


class FileSettings:
    """Storage, size limit and link signing, from the environment unless configured."""

    def __init__(self, storage: FileStorage, max_upload_bytes: int, url_secret: bytes, url_ttl_seconds: int) -> None:
        self.storage = storage
        self.max_upload_bytes = max_upload_bytes
        self.url_secret = url_secret
        self.url_ttl_seconds = url_ttl_seconds


_configured: FileSettings | None = None


def configure(settings: FileSettings | None) -> None:
    global _configured
    _configured = settings


def file_settings() -> FileSettings:
    global _configured
    if _configured is None:
        from openchannels.settings import Settings

        settings = Settings()
        secret = settings.file_url_secret.encode() if settings.file_url_secret else secrets.token_bytes(32)
        storage: FileStorage = LocalFileStorage(settings.files_dir)
        if settings.s3_bucket:
            from services.s3_storage import S3FileStorage

            storage = S3FileStorage(endpoint=settings.s3_endpoint_url, bucket=settings.s3_bucket,
                                    access_key=settings.s3_access_key_id, secret_key=settings.s3_secret_access_key,
                                    region=settings.s3_region)
        _configured = FileSettings(storage, settings.max_upload_bytes, secret, settings.file_url_ttl_seconds)
    return _configured


# ---------------------------------------------------------------- content types

_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"\x1f\x8b", "application/gzip"),
]
_ACTIVE_TEXT = re.compile(rb"^\s*(<!doctype\s+html|<html|<svg|<script|<\?xml|<body|<head|<iframe)", re.IGNORECASE)
#: sniffed type -> the types a file name may announce for it
_COMPATIBLE = {
    "application/zip": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                        "application/vnd.oasis.opendocument.text", "application/x-zip-compressed"},
    "application/x-ole-storage": {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"},
    "text/plain": {"text/csv", "text/markdown", "application/json", "text/x-python", "text/x-log"},
    "application/gzip": {"application/x-gzip", "application/x-tar"},
}


def sniff_content_type(data: bytes) -> str:
    """The type the bytes are, whatever the client said."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    head = data[:4096]
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(head) - 4:  # not only a character cut at the 4096th byte
                return "application/octet-stream"
        return "text/html" if _ACTIVE_TEXT.match(head) else "text/plain"
    return "application/octet-stream"


def _clean_name(name: str | None) -> str:
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip()
    return (name or "file")[-255:]


def check_type(name: str, sniffed: str) -> None:
    """Refuse active content and a file whose name announces another type than its bytes."""
    if sniffed == "text/html":
        raise InvalidInput("HTML and SVG files cannot be uploaded.", field=["input", "file"])
    announced, _ = mimetypes.guess_type(name, strict=False)
    if announced is None or announced == sniffed or announced in _COMPATIBLE.get(sniffed, set()):
        return
    if sniffed == "text/plain" and announced.startswith("text/") and announced not in ("text/html", "text/xml"):
        return
    raise InvalidInput(f"The file's content ({sniffed}) does not match its name ({announced}).",
                       field=["input", "file"])


# ---------------------------------------------------------------- use cases


async def upload_file(viewer: Viewer, *, chat_id: int, name: str | None, data: bytes) -> Attachment:
    """Store a file for a chat; it is attached to a message by sending the message with its id.

    `data` may be one byte over the limit (the reader stops there): that is how an oversized
    upload is told without reading it all.
    """
    settings = file_settings()
    if len(data) > settings.max_upload_bytes:
        raise LimitExceeded(f"The file is larger than {settings.max_upload_bytes} bytes.", field=["input", "file"])
    if not data:
        raise InvalidInput("The file is empty.", field=["input", "file"])
    name = _clean_name(name)
    content_type = sniff_content_type(data)
    check_type(name, content_type)
    key = uuid.uuid4().hex
    async with unit_of_work() as uow:
        chat = await _chat_to_upload_into(uow, viewer, chat_id)
        attachment = await Attachment.create(
            using_db=uow.tx, chat_id=chat.id, uploaded_by_id=viewer.operator_id,
            uploaded_by_client_id=viewer.client_id if viewer.is_visitor else None,
            name=name, content_type=content_type, size=len(data), storage_key=key,
        )
        await settings.storage.save(key, data)  # before commit: a committed row always has its bytes
    return attachment


async def _chat_to_upload_into(uow: UnitOfWork, viewer: Viewer, chat_id: int) -> Chat:
    if viewer.is_visitor:
        chat = await get_visible_chat(viewer, chat_id, using=uow.tx)
        if chat.status not in (ChatStatus.QUEUED, ChatStatus.ACTIVE):
            raise Forbidden("The chat is closed.", field=["input", "chatId"])
        return chat
    chat, roles = await operator_chat(viewer, chat_id, uow.tx)
    if not (roles.supervisor or roles.responsible or roles.participant):
        raise Forbidden("Only the chat's operators can send files in it.", field=["input", "chatId"])
    return chat


async def attach_uploads(uow: UnitOfWork, viewer: Viewer, chat: Chat, message: Message,
                         attachment_ids: list[int]) -> None:
    """Attach the caller's own, not yet sent uploads of this chat to a message being written."""
    ids = sorted(set(attachment_ids))
    if not ids:
        return
    own = Attachment.filter(id__in=ids, chat_id=chat.id, message_id__isnull=True).using_db(uow.tx)
    own = own.filter(uploaded_by_client_id=viewer.client_id) if viewer.is_visitor else \
        own.filter(uploaded_by_id=viewer.operator_id)
    updated = await own.update(message_id=message.id)
    if updated != len(ids):
        raise InvalidInput("Attach only files you uploaded to this chat and have not sent yet.",
                           field=["input", "attachmentIds"])


async def readable_attachment(viewer: Viewer, attachment_id: int) -> Attachment:
    """The attachment if the viewer may read it; NOT_FOUND otherwise."""
    attachment = await Attachment.filter(id=attachment_id).first()
    if attachment is None:
        raise NotFound("No such file.")
    try:
        await get_visible_chat(viewer, attachment.chat_id)
    except NotFound:
        raise NotFound("No such file.") from None
    if not await _readable_in_chat(viewer, attachment):
        raise NotFound("No such file.")
    return attachment


async def _readable_in_chat(viewer: Viewer, attachment: Attachment) -> bool:
    if attachment.message_id is None:
        return (attachment.uploaded_by_id is not None and attachment.uploaded_by_id == viewer.operator_id) or \
            (viewer.is_visitor and attachment.uploaded_by_client_id == viewer.client_id)
    message = await Message.get(id=attachment.message_id)
    return not message.deleted and (viewer.is_operator or not message.silent)


async def attachment_by_signed_link(attachment_id: int, expires: str, signature: str, *, now: float | None = None
                                    ) -> Attachment:
    """The attachment a signed link names, while the link is valid and the file still visible to the client."""
    if not verify_signature(attachment_id, expires, signature, now=now):
        raise NotFound("No such file, or the link has expired.")
    attachment = await Attachment.filter(id=attachment_id).first()
    if attachment is None:
        raise NotFound("No such file.")
    if attachment.message_id is None:
        if attachment.uploaded_by_client_id is None:
            raise NotFound("No such file.")
    else:
        message = await Message.get(id=attachment.message_id)
        if message.silent or message.deleted:
            raise NotFound("No such file.")
    return attachment


async def read_bytes(attachment: Attachment) -> bytes:
    return await file_settings().storage.load(attachment.storage_key)


async def remove_stored(keys: list[str]) -> None:
    """Delete files whose rows are gone (after the deleting transaction committed)."""
    storage = file_settings().storage
    for key in keys:
        try:
            await storage.delete(key)
        except OSError:
            pass


# ---------------------------------------------------------------- links


def _signature(attachment_id: int, expires: int) -> str:
    return hmac.new(file_settings().url_secret, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_path(attachment_id: int, *, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + file_settings().url_ttl_seconds)
    return f"/files/{attachment_id}?expires={expires}&signature={_signature(attachment_id, expires)}"


def verify_signature(attachment_id: int, expires: str, signature: str, *, now: float | None = None) -> bool:
    seconds = parse_numeral(expires, maximum=MAX_UNIX_TIME)
    if seconds is None or seconds < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(_signature(attachment_id, seconds), signature)


def url_for(viewer: Viewer, attachment: Attachment) -> str:
    """Operators fetch with their token; a visitor gets a signed link that expires."""
    if viewer.is_operator:
        return f"/files/{attachment.id}"
    return signed_path(attachment.id)
