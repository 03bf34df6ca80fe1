"""The S3-compatible storage: AWS's published Signature V4 example, and a round trip through
uploads against a local fake S3 server that checks every request's signature."""
from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from services import files, messages, messaging
from services.s3_storage import EMPTY_SHA256, S3FileStorage, sign_v4
from tests.messaging.worlds import answered_chat

ACCESS, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AT = datetime(2013, 5, 24, tzinfo=timezone.utc)


def test_signature_matches_the_aws_documentation_example():
    """'GET Object' of the AWS S3 Signature V4 documentation (single chunk payload)."""
    headers = sign_v4(method="GET", url="https://examplebucket.s3.amazonaws.com/test.txt",
                      headers={"Range": "bytes=0-9"}, payload_sha256=EMPTY_SHA256, access_key=ACCESS,
                      secret_key=SECRET, region="us-east-1", at=AT)
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


class FakeS3:
    """Objects in memory; a request whose signature is not the one expected is refused with 403."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.refused = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _check(self, body: bytes) -> bool:
                payload = self.headers["x-amz-content-sha256"]
                expected = sign_v4(method=self.command, url=f"http://{self.headers['host']}{self.path}", headers={},
                                   payload_sha256=payload, access_key=ACCESS, secret_key=SECRET,
                                   region="eu-central-1", at=AT)
                ok = (self.headers["authorization"] == expected["Authorization"]
                      and payload == hashlib.sha256(body).hexdigest())
                if not ok:
                    fake.refused += 1
                    self._answer(403)
                return ok

            def _answer(self, status: int, body: bytes = b"") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self._check(body):
                    fake.objects[self.path] = body
                    self._answer(200)

            def do_GET(self) -> None:
                if self._check(b""):
                    found = fake.objects.get(self.path)
                    self._answer(200, found) if found is not None else self._answer(404)

            def do_DELETE(self) -> None:
                if self._check(b""):
                    fake.objects.pop(self.path, None)
                    self._answer(204)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def s3():
    fake = FakeS3()
    storage = S3FileStorage(endpoint=fake.endpoint, bucket="uploads", access_key=ACCESS, secret_key=SECRET,
                            region="eu-central-1", clock=lambda: AT)
    files.configure(files.FileSettings(storage, max_upload_bytes=10_000, url_secret=b"k", url_ttl_seconds=60))
    yield fake
    files.configure(None)
    fake.close()


async def test_uploads_go_to_the_bucket_and_come_back(db, s3):
    w = await answered_chat()
    uploaded = await files.upload_file(w.me, chat_id=w.chat.id, name="notes.txt", data=b"call back at 5")
    assert s3.objects == {f"/uploads/{uploaded.storage_key}": b"call back at 5"}
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="notes", attachment_ids=[uploaded.id])
    readable = await files.readable_attachment(w.colleague_viewer, uploaded.id)
    assert await files.read_bytes(readable) == b"call back at 5"
    await messaging.delete_message(w.me, message_id=sent.id)
    assert s3.objects == {} and s3.refused == 0


async def test_a_wrong_secret_is_refused_by_the_bucket(db, s3):
    wrong = S3FileStorage(endpoint=s3.endpoint, bucket="uploads", access_key=ACCESS, secret_key="not-the-secret",
                          region="eu-central-1", clock=lambda: AT)
    with pytest.raises(httpx.HTTPStatusError):
        await wrong.save("0" * 32, b"x")
    assert s3.refused == 1 and s3.objects == {}
