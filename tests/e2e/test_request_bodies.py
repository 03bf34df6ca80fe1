"""Request bodies on real servers: uploads are freed when their request ends, and every body is
limited while it streams in (openchannels/body_limits.py), read from the server process's
/proc: its open files, its memory.

Each test here runs a server of its own (small limits, or memory only it moves), on the
deployment's database: operators and chats are made through the shared server.
"""
from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import h11
import httpx
import pytest_asyncio

from tests.e2e.actors import Admin, start_visitor_chat
from tests.e2e.server import Deployment, ServerProcess

UPLOAD = """mutation($c: ID!, $f: Upload!) { uploadFile(input: {chatId: $c, file: $f}) {
  attachment { id size } userErrors { code message } } }"""
PNG_HEADER = b"\x89PNG\r\n\x1a\n"
MIB = 1024 * 1024
#: small limits for the servers here (their defaults are 25 MiB and 1 MiB)
MAX_UPLOAD_BYTES = 256 * 1024
MAX_REQUEST_BYTES = 32 * 1024  # httpx sends query strings up to 64 KiB
#: a body far past every limit, sent without Content-Length (chunked) unless a test says so
HUGE_BYTES = 64 * MIB


def vm_rss_bytes(server: ServerProcess) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def deleted_open_files(server: ServerProcess) -> list[str]:
    """The server's open files whose name is gone: spooled uploads (temporary files)."""
    found = []
    for fd in Path(f"/proc/{server.process.pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.endswith("(deleted)"):
            found.append(target)
    return found


def multipart_parts(chat_id: str, data: bytes) -> dict:
    operations = json.dumps({"query": UPLOAD, "variables": {"c": chat_id, "f": None}})
    return {"operations": (None, operations), "map": (None, '{"0": ["variables.f"]}'),
            "0": ("picture.png", data, "image/png")}


class Trickle:
    """A body sent chunked (no Content-Length), counting what the server let the client send."""

    def __init__(self, head: bytes, size: int, tail: bytes = b"") -> None:
        self.head, self.size, self.tail, self.sent = head, size, tail, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"A" * (256 * 1024)
        for part in (self.head, *(chunk for _ in range(self.size // len(chunk))), self.tail):
            self.sent += len(part)
            yield part


def chunked_upload(chat_id: str, size: int) -> tuple[dict[str, str], Trickle]:
    """A multipart upload of `size` bytes, streamed without Content-Length."""
    boundary = "oc-e2e-boundary"
    operations = json.dumps({"query": UPLOAD, "variables": {"c": chat_id, "f": None}})
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.f"]}}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.png"\r\n'
            f'Content-Type: image/png\r\n\r\n').encode() + PNG_HEADER
    return ({"Content-Type": f"multipart/form-data; boundary={boundary}", "Apollo-Require-Preflight": "true"},
            Trickle(head, size, f"\r\n--{boundary}--\r\n".encode()))


@pytest_asyncio.fixture
async def limited(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    """A server with small body limits."""
    server = await deployment.start_server({"MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
                                            "MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES)})
    try:
        yield server
    finally:
        deployment.stop_server(server)


@pytest_asyncio.fixture
async def own_server(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    """A server with the default limits, whose memory only this test moves."""
    server = await deployment.start_server()
    try:
        yield server
    finally:
        deployment.stop_server(server)


async def answered_chat(http, admin: Admin) -> tuple[str, str]:
    """(an operator's token, the id of a chat they answered)."""
    operator = await admin.create_operator()
    channel = await admin.create_open_channel([operator])
    chat_id = (await start_visitor_chat(http, channel)).chat_id
    await operator.answer(chat_id)
    return operator.token, chat_id


def _too_large(response: httpx.Response, code: str = "REQUEST_TOO_LARGE") -> None:
    assert response.status_code == (414 if code == "URI_TOO_LONG" else 413), response.text
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code]


async def test_uploads_are_closed_and_freed_when_their_request_ends(deployment, http, admin, own_server,
                                                                    http_client: httpx.AsyncClient):
    token, chat_id = await answered_chat(http, admin)
    headers = {"Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "true"}

    async def upload(size: int) -> None:
        data = PNG_HEADER + os.urandom(size - len(PNG_HEADER))
        answer = await http_client.post(own_server.graphql_url, headers=headers, files=multipart_parts(chat_id, data))
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["uploadFile"]["attachment"]["size"] == size

    for _ in range(5):  # warm up: the first requests load code and fill pools
        await upload(900 * 1024)
    before = vm_rss_bytes(own_server)
    for _ in range(60):  # kept in memory by Starlette (under 1 MiB): 54 MB if none were freed
        await upload(900 * 1024)
    grown = vm_rss_bytes(own_server) - before
    assert grown < 20 * MIB, f"the server grew by {grown / MIB:.0f} MiB for 60 uploads of 900 KiB"

    for _ in range(10):  # spooled to temporary files (over 1 MiB), deleted from the folder at once
        await upload(int(1.5 * MIB))
    assert deleted_open_files(own_server) == []


async def test_a_chunked_upload_past_the_limit_is_refused_and_not_kept(deployment, http, admin, limited,
                                                                      http_client: httpx.AsyncClient):
    token, chat_id = await answered_chat(http, admin)
    headers, body = chunked_upload(chat_id, HUGE_BYTES)
    before = vm_rss_bytes(limited)
    answer = await http_client.post(limited.graphql_url, content=body,
                                    headers={**headers, "Authorization": f"Bearer {token}"})
    _too_large(answer)
    assert vm_rss_bytes(limited) - before < 16 * MIB
    assert deleted_open_files(limited) == []

    small = PNG_HEADER + os.urandom(MAX_UPLOAD_BYTES // 2)  # an upload under the limit is unaffected
    answer = await http_client.post(limited.graphql_url, files=multipart_parts(chat_id, small),
                                    headers={"Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "true"})
    assert answer.json()["data"]["uploadFile"]["attachment"]["size"] == len(small)


async def answer_before_the_body_ends(server: ServerProcess, headers: dict[str, str], head: bytes,
                                      ) -> tuple[int, dict]:
    """Send a request's headers and the start of a body that never ends (chunked), then read the
    answer: a server that waits for the rest of the body gives none (an AssertionError after
    ANSWER_SECONDS). h11 is the HTTP/1.1 library under httpx, which cannot read before sending all."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    client = h11.Connection(h11.CLIENT)
    try:
        writer.write(client.send(h11.Request(method="POST", target="/graphql", headers=[
            ("Host", f"127.0.0.1:{server.port}"), ("Transfer-Encoding", "chunked"), *headers.items()])))
        writer.write(client.send(h11.Data(data=head + b"A" * (2 * MAX_UPLOAD_BYTES))))
        await writer.drain()
        status, content = 0, b""
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                try:
                    client.receive_data(await asyncio.wait_for(reader.read(65536), ANSWER_SECONDS))
                except asyncio.TimeoutError:
                    raise AssertionError("no answer before the end of the body") from None
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                content += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return status, json.loads(content)
    finally:
        writer.close()


#: how long a test waits for an answer that must come before the body ends
ANSWER_SECONDS = 10


async def test_refusals_come_before_the_body_is_read(deployment, http, admin, limited):
    token, chat_id = await answered_chat(http, admin)
    multipart, body = chunked_upload(chat_id, 0)

    status, answer = await answer_before_the_body_ends(limited, multipart, body.head)  # no token
    assert status == 401 and [e["extensions"]["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
    status, answer = await answer_before_the_body_ends(
        limited, {**multipart, "Authorization": "Bearer oc_not-a-token"}, body.head)
    assert status == 401 and [e["extensions"]["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]

    status, answer = await answer_before_the_body_ends(  # signed in: refused at the limit
        limited, {**multipart, "Authorization": f"Bearer {token}"}, body.head)
    assert status == 413 and [e["extensions"]["code"] for e in answer["errors"]] == ["REQUEST_TOO_LARGE"]

    status, answer = await answer_before_the_body_ends(
        limited, {"Content-Type": "application/json"}, b'{"query": "{ __typename }", "variables": {"pad": "')
    assert status == 413 and [e["extensions"]["code"] for e in answer["errors"]] == ["REQUEST_TOO_LARGE"]


async def test_a_json_body_past_the_limit_is_refused(deployment, limited, http_client: httpx.AsyncClient):
    query = "{ __typename }"
    padded = json.dumps({"query": query, "variables": {"pad": "x" * (MAX_REQUEST_BYTES * 4)}}).encode()
    declared = await http_client.post(limited.graphql_url, content=padded,
                                      headers={"Content-Type": "application/json"})
    _too_large(declared)

    before = vm_rss_bytes(limited)
    body = Trickle(b'{"query": "{ __typename }", "variables": {"pad": "', HUGE_BYTES, b'"}}')
    chunked = await http_client.post(limited.graphql_url, content=body, headers={"Content-Type": "application/json"})
    _too_large(chunked)
    assert vm_rss_bytes(limited) - before < 16 * MIB

    fits = json.dumps({"query": query, "variables": {"pad": "x" * (MAX_REQUEST_BYTES // 2)}})
    answer = await http_client.post(limited.graphql_url, content=fits, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json() == {"data": {"__typename": "Query"}}


async def test_a_query_string_past_the_limit_is_refused(deployment, limited, http_client: httpx.AsyncClient):
    long_query = "{ __typename } #" + "x" * (MAX_REQUEST_BYTES + 1024)
    _too_large(await http_client.get(limited.graphql_url, params={"query": long_query}), "URI_TOO_LONG")
    answer = await http_client.get(limited.graphql_url, params={"query": "{ __typename }"})
    assert answer.status_code == 200 and answer.json() == {"data": {"__typename": "Query"}}
