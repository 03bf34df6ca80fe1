"""File storage in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...) through aiobotocore, the
`[s3]` extra: importing this module without it fails, which services/messaging/files.py turns into one line.

What holds:
- one client per process, made by `S3FileStorage.connect` when the app starts and closed when it
  stops; its connection pool is reused by every request;
- credentials: S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY when set; otherwise the SDK's own chain
  (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE and the shared files,
  web identity, ECS and EC2 instance roles), refreshed by the SDK when they expire;
- retries are the SDK's "standard" mode (throttling, 5xx and connection errors, backing off;
  AWS_MAX_ATTEMPTS overrides its 3 attempts);
- a file larger than one part is sent as a multipart upload, one part in memory at a time, and
  aborted if any part fails (no orphan parts billed); a download is read in chunks as the HTTP
  response sends them.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from infrastructure.file_storage import CHUNK_BYTES, ByteStream, UploadContent, read_exactly

log = logging.getLogger("openchannels.s3")

#: S3 refuses parts under 5 MiB (but the last one)
MIN_PART_BYTES = 5 * 1024 * 1024
#: what the AWS CLI uses; a 25 MiB upload is 4 parts, at most one of them in memory
DEFAULT_PART_BYTES = 8 * 1024 * 1024
_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3FileStorage:
    """Objects `<bucket>/<key>`; made by `connect`, which owns the client."""

    def __init__(self, client: Any, bucket: str, *, part_bytes: int = DEFAULT_PART_BYTES) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"S3 parts are at least {MIN_PART_BYTES} bytes, not {part_bytes}")
        self.client = client
        self.bucket = bucket
        self.part_bytes = part_bytes

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, *, bucket: str, endpoint_url: str = "", region: str = "us-east-1",
                      access_key_id: str = "", secret_access_key: str = "",
                      part_bytes: int = DEFAULT_PART_BYTES) -> AsyncIterator[S3FileStorage]:
        """The storage with its client, closed on leaving. An `endpoint_url` (MinIO, Ceph, a test
        server) is addressed path-style; without one, AWS's endpoint for `region`."""
        options: dict[str, Any] = {"s3": {"addressing_style": "path"}} if endpoint_url else {}
        config = AioConfig(retries={"mode": "standard"}, **options)
        keys = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key} \
            if access_key_id else {}  # else the SDK's credential chain
        async with AioSession().create_client("s3", region_name=region or None, endpoint_url=endpoint_url or None,
                                              config=config, **keys) as client:
            yield cls(client, bucket, part_bytes=part_bytes)

    async def save(self, key: str, content: UploadContent, size: int) -> None:
        if size <= self.part_bytes:
            await self.client.put_object(Bucket=self.bucket, Key=key, Body=await read_exactly(content, size))
            return
        upload = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
        upload_id = upload["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            while part := await read_exactly(content, self.part_bytes):
                number = len(parts) + 1
                sent = await self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                     PartNumber=number, Body=part)
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
                del part, sent  # freed before the next part is read: one part in memory, not two
            await self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                        MultipartUpload={"Parts": parts})
        except BaseException:
            try:
                await self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except Exception:
                log.warning("could not abort the multipart upload %s of %s", upload_id, key, exc_info=True)
            raise

    async def open(self, key: str) -> ByteStream:
        try:
            response = await self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(key) from None
            raise
        return _ObjectStream(response["Body"])

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self.bucket, Key=key)


class _ObjectStream:
    """A GetObject body: its connection goes back to the pool when closed."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._body.iter_chunks(CHUNK_BYTES)

    async def aclose(self) -> None:
        await self._body.aclose()
