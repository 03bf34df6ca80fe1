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

import hashlib
import hmac
import logging
import mimetypes
import os
import re
import time
import unicodedata
import uuid

from models import Attachment, Chat, ChatStatus, Message
from services.policies import attachments as attachment_policy
from services.policies.chats import get_visible_chat, operator_chat
from services.common.errors import Forbidden, InvalidInput, LimitExceeded, NotFound
from services.events.events import UnitOfWork, unit_of_work
from infrastructure.file_storage import BytesContent, ByteStream, FileSettings, FileStorage, UploadContent
from services.common.numerals import MAX_UNIX_TIME, parse_numeral
from services.identity.viewer import Viewer


log = logging.getLogger("openchannels.files")
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024

# Where the bytes are stored, the size limit and the link signing are the platform's
# (infrastructure/platform.py `Platform.files`, a FileSettings): each use case that needs them is handed them.


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


#: how much of a file its type is told from
SNIFF_BYTES = 4096


def sniff_content_type(data: bytes) -> str:
    """The type the bytes are, whatever the client said."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    head = data[:SNIFF_BYTES]
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


async def upload_file(viewer: Viewer, settings: FileSettings, *, chat_id: int, name: str | None,
                      data: bytes | UploadContent) -> Attachment:
    """Store a file for a chat in `settings.storage`; it is attached to a message by sending the
    message with its id.

    `data` is the upload as the multipart parser spooled it (read here in parts, never whole),
    or bytes.
    """
    if not isinstance(data, bytes) and not callable(getattr(data, "read", None)):  # a JSON value, not a file part
        raise InvalidInput("Send the file as a part of a multipart request.", field=["input", "file"])
    content = BytesContent(data) if isinstance(data, bytes) else data
    size = await _size_within(content, settings.max_upload_bytes)
    if size > settings.max_upload_bytes:
        raise LimitExceeded(f"The file is larger than {settings.max_upload_bytes} bytes.", field=["input", "file"])
    if not size:
        raise InvalidInput("The file is empty.", field=["input", "file"])
    name = _clean_name(name)
    content_type = sniff_content_type(await content.read(SNIFF_BYTES))
    await content.seek(0)
    check_type(name, content_type)
    key = uuid.uuid4().hex
    async with unit_of_work(viewer) as uow:
        chat = await _chat_to_upload_into(uow, viewer, chat_id)
        attachment = await Attachment.create(
            using_db=uow.tx, chat_id=chat.id, uploaded_by_id=viewer.operator_id,
            uploaded_by_client_id=viewer.client_id if viewer.is_visitor else None,
            name=name, content_type=content_type, size=size, storage_key=key,
        )
        await settings.storage.save(key, content, size)  # before commit: a committed row always has its bytes
    return attachment


async def _size_within(content: UploadContent, limit: int) -> int:
    """The upload's size as the parser counted it; else counted by reading, stopping one byte over `limit`."""
    size = getattr(content, "size", None)
    if isinstance(size, int):
        return size
    size = 0
    while size <= limit and (chunk := await content.read(min(1 << 20, limit + 1 - size))):
        size += len(chunk)
    await content.seek(0)
    return size


async def _chat_to_upload_into(uow: UnitOfWork, viewer: Viewer, chat_id: int) -> Chat:
    if viewer.is_visitor:
        chat = await get_visible_chat(viewer, chat_id, using=uow.tx)
        if chat.status not in (ChatStatus.QUEUED, ChatStatus.ACTIVE):
            raise Forbidden("The chat is closed.", field=["input", "chatId"])
        return chat
    chat, roles = await operator_chat(viewer, chat_id, uow.tx)
    if not roles.can_write:
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
    if not attachment_policy.can_read_in_chat(viewer, attachment, await _message_of(attachment)):
        raise NotFound("No such file.")
    return attachment


async def _message_of(attachment: Attachment) -> Message | None:
    return None if attachment.message_id is None else await Message.get(id=attachment.message_id)


async def attachment_by_signed_link(settings: FileSettings, attachment_id: int, expires: str, signature: str, *,
                                    now: float | None = None) -> Attachment:
    """The attachment a signed link names, while the link is valid and the file still visible to the client."""
    if not verify_signature(settings, attachment_id, expires, signature, now=now):
        raise NotFound("No such file, or the link has expired.")
    attachment = await Attachment.filter(id=attachment_id).first()
    if attachment is None:
        raise NotFound("No such file.")
    if not attachment_policy.can_read_by_link(attachment, await _message_of(attachment)):
        raise NotFound("No such file.")
    return attachment


async def open_stored(storage: FileStorage, attachment: Attachment) -> ByteStream:
    """The attachment's bytes as a stream of chunks (close it); FileNotFoundError if they are gone."""
    return await storage.open(attachment.storage_key)


async def remove_stored(storage: FileStorage, keys: list[str]) -> None:
    """Delete files whose rows are gone (after the deleting transaction committed): a failure
    leaves an orphan object, logged, and never undoes or fails the committed deletion."""
    for key in keys:
        try:
            await storage.delete(key)
        except Exception:
            log.warning("could not delete the stored file %s", key, exc_info=True)


# ---------------------------------------------------------------- links


def _signature(settings: FileSettings, attachment_id: int, expires: int) -> str:
    return hmac.new(settings.url_secret, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def signed_path(settings: FileSettings, attachment_id: int, *, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + settings.url_ttl_seconds)
    return f"/files/{attachment_id}?expires={expires}&signature={_signature(settings, attachment_id, expires)}"


def verify_signature(settings: FileSettings, attachment_id: int, expires: str, signature: str, *,
                     now: float | None = None) -> bool:
    seconds = parse_numeral(expires, maximum=MAX_UNIX_TIME)
    if seconds is None or seconds < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(_signature(settings, attachment_id, seconds), signature)


def url_for(viewer: Viewer, attachment: Attachment, settings: FileSettings) -> str:
    """Operators fetch with their token; a visitor gets a signed link that expires."""
    if viewer.is_operator:
        return f"/files/{attachment.id}"
    return signed_path(settings, attachment.id)
