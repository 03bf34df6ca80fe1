"""Where the bytes of uploads live: a folder on the server's disk, or an S3 bucket
(infrastructure/s3_storage.py, with the optional `[s3]` extra).

What holds: no file is ever held whole in memory. An upload is read from its spooled file
in parts and written in parts; a download is a stream of chunks that the HTTP response
sends as they come, and that must be closed (`aclose`) whether it was read to the end or not.
"""
from __future__ import annotations

import asyncio
import io
import os
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from infrastructure.settings import Settings

#: bytes read or written at a time on the local disk, and sent per HTTP body message
CHUNK_BYTES = 64 * 1024

S3_EXTRA_MISSING = "S3_BUCKET is set but the S3 extra is not installed: pip install 'openchannels[s3]'"


class StorageUnavailable(RuntimeError):
    """The configured storage cannot be used at all (its optional package is missing)."""


class UploadContent(Protocol):
    """An upload as the multipart parser leaves it (Starlette's `UploadFile`): read in parts, rewound."""

    async def read(self, size: int = -1) -> bytes: ...

    async def seek(self, offset: int) -> object: ...


class BytesContent:
    """Bytes already in memory, read like an upload (a service call from code or a test)."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)
        self.size = len(data)

    async def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    async def seek(self, offset: int) -> int:
        return self._file.seek(offset)


class ByteStream(Protocol):
    """A stored file being read: iterate its chunks, then `aclose` (also when stopping early)."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class FileStorage(Protocol):
    """Keys are opaque names made by services/messaging/files.py (32 hex digits, no path separators)."""

    async def save(self, key: str, content: UploadContent, size: int) -> None:
        """Store `size` bytes read from `content` (positioned at its start) under `key`."""

    async def open(self, key: str) -> ByteStream:
        """The stored bytes of `key`; FileNotFoundError if there are none."""

    async def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""


async def read_exactly(content: UploadContent, size: int) -> bytes:
    """Up to `size` bytes: fewer only at the end of `content` (a read may return less than asked)."""
    parts: list[bytes] = []
    missing = size
    while missing > 0:
        part = await content.read(missing)
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class LocalFileStorage:
    """A folder on the server's disk (`FILES_DIR`), two hex digits of fan-out."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    async def save(self, key: str, content: UploadContent, size: int) -> None:
        """Written to `<key>.part` chunk by chunk, then renamed: a reader never sees half a file."""
        path = self._path(key)
        temporary = path.with_suffix(".part")
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(open, temporary, "wb")
        try:
            try:
                while chunk := await content.read(CHUNK_BYTES):
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, temporary, path)
        except BaseException:
            await asyncio.to_thread(temporary.unlink, True)
            raise

    async def open(self, key: str) -> ByteStream:
        return _LocalStream(await asyncio.to_thread(open, self._path(key), "rb"))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


class _LocalStream:
    def __init__(self, handle: io.BufferedReader) -> None:
        self._handle = handle

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await asyncio.to_thread(self._handle.read, CHUNK_BYTES):
            yield chunk

    async def aclose(self) -> None:
        await asyncio.to_thread(self._handle.close)


class FileSettings:
    """Where uploads are stored, how large one may be, and how a visitor's link is signed."""

    def __init__(self, storage: FileStorage, max_upload_bytes: int, url_secret: bytes, url_ttl_seconds: int) -> None:
        self.storage = storage
        self.max_upload_bytes = max_upload_bytes
        self.url_secret = url_secret
        self.url_ttl_seconds = url_ttl_seconds

    @classmethod
    def of(cls, settings: Settings, storage: FileStorage) -> FileSettings:
        secret = settings.file_url_secret.encode() if settings.file_url_secret else secrets.token_bytes(32)
        return cls(storage, settings.max_upload_bytes, secret, settings.file_url_ttl_seconds)
