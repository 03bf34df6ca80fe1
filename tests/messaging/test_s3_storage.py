"""The S3 storage against a real S3-compatible server (moto's, in its own process, checking every
request's signature): credentials from settings or from the SDK's chain, one client per process,
multipart uploads, streaming both ways, and the `[s3]` extra being optional.

(The file API on both storages, uploads, links, deletes, is tests/messaging/test_files.py.)
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

from models import Attachment
from openchannels.app import create_app
from infrastructure.settings import Settings
from services.identity import auth
from services.messaging import files
from services.messaging import messages
from services.messaging import messaging
from infrastructure.file_storage import BytesContent, FileSettings
from infrastructure.platform import Platform, open_file_storage
from infrastructure.s3_storage import MIN_PART_BYTES, S3FileStorage
from tests.cli.running import assert_one_line_error, run
from tests.messaging.s3_server import REGION, S3Server
from tests.messaging.worlds import answered_chat

pytestmark = pytest.mark.usefixtures("no_outside_aws")
MiB = 1024 * 1024
UPLOAD = "mutation($c: ID!, $f: Upload!) { uploadFile(input: {chatId: $c, file: $f}) { attachment { id url size } " \
         "userErrors { code } } }"


def s3_settings(server: S3Server, bucket: str, *, static_keys: bool = True, **more) -> Settings:
    keys = dict(s3_access_key_id=server.access_key_id, s3_secret_access_key=server.secret_access_key) \
        if static_keys else dict(s3_access_key_id="", s3_secret_access_key="")
    return Settings(**{**dict(s3_bucket=bucket, s3_endpoint_url=server.endpoint, s3_region=REGION,
                              file_url_secret="k"), **keys, **more})


async def read_stream(platform: Platform, attachment: Attachment) -> bytes:
    stream = await files.open_stored(platform.files.storage, attachment)
    try:
        return b"".join([chunk async for chunk in stream])
    finally:
        await stream.aclose()


@contextlib.asynccontextmanager
async def on_bucket(platform: Platform, settings: Settings) -> AsyncIterator[Platform]:
    """The test's platform with its files in the bucket the settings name (the app's way of opening it)."""
    async with open_file_storage(settings) as opened:
        yield replace(platform, files=opened)


async def round_trip(platform: Platform, server: S3Server, bucket: str) -> None:
    """Upload, send, read back, delete: through the services, looking into the bucket apart from our code."""
    w = await answered_chat()
    uploaded = await files.upload_file(w.me, platform.files, chat_id=w.chat.id, name="notes.txt", data=b"call back at 5")
    stored = server.client().get_object(Bucket=bucket, Key=uploaded.storage_key)["Body"].read()
    assert stored == b"call back at 5"
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="notes", attachment_ids=[uploaded.id])
    readable = await files.readable_attachment(w.colleague_viewer, uploaded.id)
    assert await read_stream(platform, readable) == b"call back at 5"
    await messaging.delete_message(w.me, message_id=sent.id, storage=platform.files.storage)
    assert server.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0


async def test_uploads_go_to_the_bucket_and_come_back_with_static_keys(db, platform, s3_server):
    bucket = s3_server.new_bucket()
    async with on_bucket(platform, s3_settings(s3_server, bucket)) as on_s3:
        await round_trip(on_s3, s3_server, bucket)


async def test_a_wrong_secret_is_refused_by_the_bucket(db, platform, s3_server):
    bucket = s3_server.new_bucket()
    settings = s3_settings(s3_server, bucket, s3_secret_access_key="not-the-secret")
    async with on_bucket(platform, settings) as on_s3:
        w = await answered_chat()
        with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
            await files.upload_file(w.me, on_s3.files, chat_id=w.chat.id, name="notes.txt", data=b"x")
    assert await Attachment.all().count() == 0  # the row is not committed without its bytes
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.mark.parametrize("source", ["environment with a session token", "profile"])
async def test_without_s3_keys_the_sdk_credential_chain_finds_them(db, platform, s3_server, monkeypatch, tmp_path,
                                                                  source):
    """S3_ACCESS_KEY_ID unset: temporary keys with a session token (what an instance or task role
    gives) from AWS_* variables, or keys from a named profile of the shared credentials file."""
    bucket = s3_server.new_bucket()
    temporary = s3_server.temporary_credentials()
    if source == "profile":
        (tmp_path / "credentials").write_text(
            f"[uploads]\naws_access_key_id = {s3_server.access_key_id}\n"
            f"aws_secret_access_key = {s3_server.secret_access_key}\n")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
        monkeypatch.setenv("AWS_PROFILE", "uploads")
    else:
        for name, value in temporary.items():
            monkeypatch.setenv(name, value)
    async with on_bucket(platform, s3_settings(s3_server, bucket, static_keys=False)) as on_s3:
        await round_trip(on_s3, s3_server, bucket)
    if source != "profile":  # the session token is what made them valid
        monkeypatch.delenv("AWS_SESSION_TOKEN")
        async with on_bucket(platform, s3_settings(s3_server, bucket, static_keys=False)) as on_s3:
            w = await answered_chat("Bea Client")
            with pytest.raises(ClientError):
                await files.upload_file(w.me, on_s3.files, chat_id=w.chat.id, name="notes.txt", data=b"x")


@pytest.fixture
async def five_mib_parts(s3_server, platform: Platform) -> AsyncIterator[tuple[str, Platform]]:
    """The test's platform with its files on a fresh bucket with the smallest parts S3 allows, and
    room for big files; the bucket's name and that platform."""
    bucket = s3_server.new_bucket()
    async with S3FileStorage.connect(bucket=bucket, endpoint_url=s3_server.endpoint, region=REGION,
                                     access_key_id=s3_server.access_key_id,
                                     secret_access_key=s3_server.secret_access_key, part_bytes=MIN_PART_BYTES) as s3:
        yield bucket, replace(platform, files=FileSettings(s3, max_upload_bytes=64 * MiB, url_secret=b"k",
                                                             url_ttl_seconds=60))


def _data(size: int) -> bytes:
    """Bytes that are no known file type, each MiB different (a part swapped or lost shows)."""
    return b"".join(hashlib.sha256(str(i).encode()).digest() * (MiB // 32) for i in range(size // MiB))


async def test_a_file_larger_than_a_part_is_a_multipart_upload_and_comes_back_intact(db, s3_server, five_mib_parts):
    data = b"\x00" * 16 + _data(12 * MiB)[16:]
    w = await answered_chat()
    bucket, on_s3 = five_mib_parts
    uploaded = await files.upload_file(w.me, on_s3.files, chat_id=w.chat.id, name="recording.bin", data=data)
    head = s3_server.client().head_object(Bucket=bucket, Key=uploaded.storage_key)
    assert head["ContentLength"] == 12 * MiB and head["ETag"].strip('"').endswith("-3")  # 5 + 5 + 2 MiB
    await messages.send_message(w.me, chat_id=w.chat.id, text="", attachment_ids=[uploaded.id])
    token = await auth.issue_token(w.colleague.id)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(platform=on_s3)), base_url="http://test") as http:
        fetched = await http.get(f"/files/{uploaded.id}", headers={"Authorization": f"Bearer {token}"})
    assert fetched.status_code == 200 and fetched.headers["content-length"] == str(12 * MiB)
    assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(data).digest()


class FailingAfter(BytesContent):
    """An upload whose reading fails after `good` bytes (a disk error, a cancelled request)."""

    def __init__(self, data: bytes, good: int) -> None:
        super().__init__(data)
        self.good, self.read_so_far = good, 0

    async def read(self, size: int = -1) -> bytes:
        if self.read_so_far >= self.good:
            raise OSError("the spooled upload could not be read")
        chunk = await super().read(size)
        self.read_so_far += len(chunk)
        return chunk


async def test_a_multipart_upload_that_fails_midway_is_aborted(db, s3_server, five_mib_parts):
    w = await answered_chat()
    data = b"\x00" * 16 + _data(11 * MiB)[16:]
    with pytest.raises(OSError):
        await files.upload_file(w.me, five_mib_parts[1].files, chat_id=w.chat.id, name="big.bin",
                                data=FailingAfter(data, good=6 * MiB))
    s3 = s3_server.client()
    assert s3.list_multipart_uploads(Bucket=five_mib_parts[0]).get("Uploads", []) == []  # no parts left billed
    assert s3.list_objects_v2(Bucket=five_mib_parts[0]).get("KeyCount") == 0
    assert await Attachment.all().count() == 0


async def _download(app, path: str, token: str) -> tuple[int, int, bytes]:
    """GET `path` straight through the ASGI app, hashing the body as it is sent (httpx's
    ASGITransport would gather the whole body first: that memory would be the test's)."""
    start: dict = {}
    digest, received = hashlib.sha256(), 0

    async def receive() -> dict:
        await asyncio.Event().wait()  # the client never leaves
        return {}

    async def send(message: dict) -> None:
        nonlocal received
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            digest.update(message.get("body", b""))
            received += len(message.get("body", b""))

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"test"), (b"authorization", f"Bearer {token}".encode())],
             "client": ("127.0.0.1", 40000), "server": ("test", 80)}
    await app(scope, receive, send)
    return start["status"], received, digest.digest()


async def test_memory_does_not_grow_by_the_file_size(db, s3_server, five_mib_parts, tmp_path):
    """A 48 MiB file sent by a real multipart request (streamed from disk), stored, and fetched
    back: the Python memory the process allocates at its peak stays far below the file size.
    Measured here: about 12 MiB to upload (a 5 MiB part, its copy in the socket's buffer, the
    multipart parser's) and under 1 MiB to download; the bounds are twice and eight times that.
    Reading the whole file, as before, is at least 48 MiB."""
    size = 48 * MiB
    path, expected = tmp_path / "recording.bin", hashlib.sha256()
    with path.open("wb") as out:
        for i in range(size // MiB):
            block = hashlib.sha256(str(i).encode()).digest() * (MiB // 32)
            block = b"\x00" * 16 + block[16:] if i == 0 else block  # no known file type
            out.write(block)
            expected.update(block)
    assert path.stat().st_size == size
    w = await answered_chat()
    token = await auth.issue_token(w.operator.id)
    app = create_app(Settings(max_upload_bytes=64 * MiB), platform=five_mib_parts[1])
    operations = json.dumps({"query": UPLOAD, "variables": {"c": w.chat_gid, "f": None}})
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        with path.open("rb") as upload:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
                response = await http.post("/graphql", headers={"Authorization": f"Bearer {token}",
                                                                "Apollo-Require-Preflight": "true"}, files={
                    "operations": (None, operations), "map": (None, json.dumps({"0": ["variables.f"]})),
                    "0": ("recording.bin", upload, "application/octet-stream")})
        upload_peak = tracemalloc.get_traced_memory()[1] - before
        attachment = response.json()["data"]["uploadFile"]["attachment"]
        assert attachment["size"] == size, response.text

        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        status, received, digest = await _download(app, urlsplit(attachment["url"]).path, token)
        download_peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert (status, received, digest) == (200, size, expected.digest())
    assert upload_peak < size // 2, f"uploading {size} bytes took {upload_peak} bytes of memory"
    assert download_peak < size // 8, f"downloading {size} bytes took {download_peak} bytes of memory"


class ClientLifecycle:
    """Every S3 client the SDK makes in this process, and when each is opened and closed."""

    def __init__(self, monkeypatch) -> None:
        self.events: list[str] = []
        make = AioSession.create_client
        lifecycle = self

        class Recorded:
            def __init__(self, context) -> None:
                self.context = context

            async def __aenter__(self):
                lifecycle.events.append("opened")
                return await self.context.__aenter__()

            async def __aexit__(self, *exc_info):
                lifecycle.events.append("closed")
                return await self.context.__aexit__(*exc_info)

        monkeypatch.setattr(AioSession, "create_client", lambda session, *a, **kw: Recorded(make(session, *a, **kw)))


async def test_one_client_per_process_made_at_startup_and_closed_at_shutdown(s3_server, tmp_path, monkeypatch):
    """The app's lifespan opens the S3 storage once; every save and read reuses
    its client (and its connection pool); stopping the app closes it."""
    bucket = s3_server.new_bucket()
    clients = ClientLifecycle(monkeypatch)
    app = create_app(s3_settings(s3_server, bucket, database_url=f"sqlite://{tmp_path / 'app.sqlite3'}",
                                 redis_url="", scheduler_interval_seconds=0))
    async with app.router.lifespan_context(app):
        assert clients.events == ["opened"]
        storage = app.state.platform.files.storage
        assert isinstance(storage, S3FileStorage)
        for n in range(3):
            await storage.save(f"{n:032x}", BytesContent(b"x" * (n + 1)), n + 1)
            stream = await storage.open(f"{n:032x}")
            assert b"".join([chunk async for chunk in stream]) == b"x" * (n + 1)
            await stream.aclose()
        assert clients.events == ["opened"]
    assert clients.events == ["opened", "closed"]


def test_without_the_s3_extra_serve_refuses_s3_bucket_in_one_line(tmp_path):
    """The plain install (no aiobotocore) runs as long as S3_BUCKET is unset; with it set, `serve`
    stops at once and says what to install."""
    stub = tmp_path / "no-extra"
    stub.mkdir()
    (stub / "aiobotocore.py").write_text("raise ModuleNotFoundError(\"No module named 'aiobotocore'\", "
                                         "name='aiobotocore')\n")
    path = os.pathsep.join([str(stub), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    plain = run(tmp_path, "export-schema", "--output", "-", PYTHONPATH=path)  # imports the whole app
    assert plain.returncode == 0 and "type Query" in plain.stdout, plain.stderr
    refused = run(tmp_path, "serve", S3_BUCKET="uploads", PYTHONPATH=path)
    assert_one_line_error(refused, "S3_BUCKET is set but the S3 extra is not installed",
                          "pip install 'openchannels[s3]'")
    assert not (tmp_path / "openchannels.sqlite3").exists()  # refused before touching anything
