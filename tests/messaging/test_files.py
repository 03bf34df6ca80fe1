"""Files: multipart upload over HTTP, sniffed types, limits, attaching, and who may fetch them,
each on both storages (the local folder and an S3 bucket: the `storage` fixture, tests/messaging/conftest.py)."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from models import Attachment
from openchannels.app import create_app
from services.identity import auth
from services.chats import chats
from services.messaging import files
from services.messaging import messages
from tests.graphql.helpers import execute
from tests.messaging.worlds import answered_chat, gid

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64
UPLOAD = """mutation($c: ID!, $f: Upload!) { uploadFile(input: {chatId: $c, file: $f}) {
  attachment { id name contentType size url } userErrors { code field message } } }"""
SEND = """mutation($i: SendMessageInput!) { sendMessage(input: $i) {
  message { id attachments { id name url } } userErrors { code field } } }"""


def _execute(storage, query: str, viewer, **variables):
    """`execute` with the test's platform (its files on the storage under test)."""
    return execute(query, viewer, platform=storage.platform, **variables)


@pytest.fixture
async def http(db, storage):
    transport = httpx.ASGITransport(app=create_app(platform=storage.platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _upload(http: httpx.AsyncClient, token: str, chat_gid: str, name: str, data: bytes,
                  preflight: bool = True) -> httpx.Response:
    operations = json.dumps({"query": UPLOAD, "variables": {"c": chat_gid, "f": None}})
    headers = {"Authorization": f"Bearer {token}"}
    if preflight:
        headers["Apollo-Require-Preflight"] = "true"
    return await http.post("/graphql", headers=headers, files={
        "operations": (None, operations), "map": (None, json.dumps({"0": ["variables.f"]})),
        "0": (name, data, "image/png")})


async def test_upload_send_and_fetch_back_with_the_right_permissions(db, storage, http):
    w = await answered_chat()
    token = await auth.issue_token(w.operator.id)
    response = await _upload(http, token, w.chat_gid, "../../photo.png", PNG)
    body = response.json()
    attachment = body["data"]["uploadFile"]["attachment"]
    assert body["data"]["uploadFile"]["userErrors"] == []
    assert (attachment["name"], attachment["contentType"], attachment["size"]) == ("photo.png", "image/png", len(PNG))
    # before it is sent, only the uploader reads it
    colleague_token = await auth.issue_token(w.colleague.id)
    assert (await http.get(attachment["url"], headers={"Authorization": f"Bearer {colleague_token}"})).status_code == 404
    sent = await _execute(storage, SEND, w.me, i={"chatId": w.chat_gid, "text": "", "attachmentIds": [attachment["id"]]})
    assert sent["sendMessage"]["message"]["attachments"][0]["id"] == attachment["id"]
    fetched = await http.get(attachment["url"], headers={"Authorization": f"Bearer {colleague_token}"})
    assert fetched.status_code == 200 and fetched.content == PNG
    assert fetched.headers["content-type"] == "image/png" and fetched.headers["x-content-type-options"] == "nosniff"
    # a colleague outside the chat, and nobody, get nothing
    outsider_token = await auth.issue_token(w.outsider.id)
    assert (await http.get(attachment["url"], headers={"Authorization": f"Bearer {outsider_token}"})).status_code == 404
    assert (await http.get(attachment["url"])).status_code == 404
    # the visitor's link is signed and expires; tampering with it fails
    visitor_url = (await _execute(storage, "{ visitorChat { lastMessage { attachments { url } } } }", w.visitor)
                   )["visitorChat"]["lastMessage"]["attachments"][0]["url"]
    assert "signature=" in visitor_url
    assert (await http.get(visitor_url)).content == PNG
    assert (await http.get(visitor_url[:-1] + ("0" if visitor_url[-1] != "0" else "1"))).status_code == 404
    query = parse_qs(urlsplit(visitor_url).query)
    assert not files.verify_signature(storage.platform.files, int(urlsplit(visitor_url).path.rsplit("/", 1)[1]), query["expires"][0],
                                      query["signature"][0], now=int(query["expires"][0]) + 1)
    # an expiry that is not ASCII digits is refused like any tampering (int("²") was a 500)
    for expires in ("\u00b2", "\u0661" * 12, "9" * 40, "+" + query["expires"][0]):
        tampered = visitor_url.replace(f"expires={query['expires'][0]}", f"expires={quote(expires)}")
        assert (await http.get(tampered)).status_code == 404, expires


async def test_visitor_cannot_fetch_a_silent_notes_attachment(db, storage, http):
    w = await answered_chat()
    uploaded = await files.upload_file(w.me, storage.platform.files, chat_id=w.chat.id, name="internal.pdf", data=PDF)
    await messages.send_message(w.me, chat_id=w.chat.id, text="for colleagues", silent=True,
                                attachment_ids=[uploaded.id])
    forged = files.signed_path(storage.platform.files, uploaded.id)  # even a validly signed link
    assert (await http.get(forged)).status_code == 404
    assert (await http.get(f"/files/{uploaded.id}", headers={"Authorization": f"Bearer {w.visitor_token}"})
            ).status_code == 404
    operator_token = await auth.issue_token(w.operator.id)
    assert (await http.get(f"/files/{uploaded.id}", headers={"Authorization": f"Bearer {operator_token}"})
            ).content == PDF
    note = (await _execute(storage, "{ visitorChat { messages { edges { node { text } } } } }", w.visitor))
    assert "for colleagues" not in str(note)


async def test_multipart_without_a_csrf_safe_header_is_refused(db, storage, http):
    w = await answered_chat()
    token = await auth.issue_token(w.operator.id)
    response = await _upload(http, token, w.chat_gid, "photo.png", PNG, preflight=False)
    assert response.status_code == 400 and "Apollo-Require-Preflight" in response.text
    assert await Attachment.all().count() == 0


@pytest.mark.parametrize("name, data, code", [
    ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000, "LIMIT_EXCEEDED"),
    ("photo.png", PDF, "INVALID_INPUT"),  # a PDF disguised as a picture
    ("page.txt", b"<!DOCTYPE html><script>alert(1)</script>", "INVALID_INPUT"),  # active content
    ("empty.txt", b"", "INVALID_INPUT"),
])
async def test_oversized_disguised_or_active_uploads_are_refused(db, storage, http, name, data, code):
    w = await answered_chat()
    token = await auth.issue_token(w.operator.id)
    body = (await _upload(http, token, w.chat_gid, name, data)).json()
    assert body["data"]["uploadFile"]["attachment"] is None
    assert [(e["code"], e["field"]) for e in body["data"]["uploadFile"]["userErrors"]] == [(code, ["input", "file"])]
    assert await Attachment.all().count() == 0
    assert storage.keys() == set()


async def test_attachments_only_your_own_unsent_uploads_and_deleting_removes_them(db, storage, http):
    w = await answered_chat()
    mine = await files.upload_file(w.me, storage.platform.files, chat_id=w.chat.id, name="a.txt", data=b"hello")
    await chats.add_chat_participants(w.me, chat_id=w.chat.id, operator_ids=[w.colleague.id])
    theirs = await files.upload_file(w.colleague_viewer, storage.platform.files, chat_id=w.chat.id, name="b.txt", data=b"world")
    refused = await _execute(storage, SEND, w.me, i={"chatId": w.chat_gid, "text": "x",
                                           "attachmentIds": [gid("Attachment", theirs.id)]})
    assert refused["sendMessage"]["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "attachmentIds"]}]
    sent = await messages.send_message(w.me, chat_id=w.chat.id, text="file", attachment_ids=[mine.id])
    again = await _execute(storage, SEND, w.me, i={"chatId": w.chat_gid, "text": "x",
                                         "attachmentIds": [gid("Attachment", mine.id)]})
    assert again["sendMessage"]["userErrors"][0]["code"] == "INVALID_INPUT"
    await _execute(storage, "mutation($m: ID!) { deleteMessage(input: {messageId: $m}) { userErrors { code } } }", w.me,
                  m=gid("Message", sent.id))
    assert not await Attachment.filter(id=mine.id).exists()
    assert storage.keys() == {theirs.storage_key}


async def test_visitor_uploads_and_sends_a_file(db, storage, http):
    w = await answered_chat()
    uploaded = await files.upload_file(w.visitor, storage.platform.files, chat_id=w.chat.id, name="receipt.pdf", data=PDF)
    message = await messages.send_visitor_message(w.visitor, text="", attachment_ids=[uploaded.id])
    data = await _execute(storage, "query($c: ID!) { chat(id: $c) { lastMessage { attachments { name contentType } } } }",
                         w.me, c=w.chat_gid)
    assert data["chat"]["lastMessage"]["attachments"] == [{"name": "receipt.pdf", "contentType": "application/pdf"}]
    assert message.chat_id == w.chat.id


def test_content_type_is_sniffed_from_the_bytes():
    assert files.sniff_content_type(PNG) == "image/png"
    assert files.sniff_content_type(PDF) == "application/pdf"
    assert files.sniff_content_type(b"GIF89a...") == "image/gif"
    assert files.sniff_content_type("plain text, ünïcode".encode()) == "text/plain"
    assert files.sniff_content_type(b"  <svg onload=alert(1)>") == "text/html"
    assert files.sniff_content_type(b"\x00\x01\x02\xff") == "application/octet-stream"


async def test_node_of_an_attachment_is_authorised_like_the_download(db, storage):
    w = await answered_chat()
    uploaded = await files.upload_file(w.me, storage.platform.files, chat_id=w.chat.id, name="a.txt", data=b"hello")
    await messages.send_message(w.me, chat_id=w.chat.id, text="file", attachment_ids=[uploaded.id])
    query = "query($id: ID!) { node(id: $id) { ... on Attachment { name url } } }"
    assert (await _execute(storage, query, w.colleague_viewer, id=gid("Attachment", uploaded.id)))["node"] == {
        "name": "a.txt", "url": f"/files/{uploaded.id}"}
    assert (await _execute(storage, query, w.outsider_viewer, id=gid("Attachment", uploaded.id)))["node"] is None


async def test_who_may_upload_into_a_chat(db, storage):
    from services.common.errors import Forbidden, NotFound

    w = await answered_chat()
    with pytest.raises(NotFound):  # another channel's operator does not learn the chat exists
        await files.upload_file(w.outsider_viewer, storage.platform.files, chat_id=w.chat.id, name="a.txt", data=b"x")
    with pytest.raises(Forbidden):  # a queue colleague who is not on the chat may not send files in it
        await files.upload_file(w.colleague_viewer, storage.platform.files, chat_id=w.chat.id, name="a.txt", data=b"x")
    other = await answered_chat("Bea Client")
    with pytest.raises(NotFound):  # a visitor uploads only into their own chat
        await files.upload_file(w.visitor, storage.platform.files, chat_id=other.chat.id, name="a.txt", data=b"x")
    assert await Attachment.all().count() == 0


async def test_a_request_far_over_the_limit_is_refused_before_it_is_read(db, storage):
    from infrastructure.settings import Settings

    w = await answered_chat()
    token = await auth.issue_token(w.operator.id)
    app = create_app(Settings(max_upload_bytes=1000), platform=storage.platform)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await _upload(client, token, w.chat_gid, "big.txt", b"x" * (70 * 1024))
    assert response.status_code == 413
    assert await Attachment.all().count() == 0


async def test_a_file_variable_that_is_not_a_file_part_is_refused(db, storage, http):
    """`Upload` sent as a JSON string (no multipart part): a userError on the field, nothing stored."""
    w = await answered_chat()
    token = await auth.issue_token(w.operator.id)
    response = await http.post("/graphql", headers={"Authorization": f"Bearer {token}"},
                               json={"query": UPLOAD, "variables": {"c": w.chat_gid, "f": "photo.png"}})
    payload = response.json()["data"]["uploadFile"]
    assert payload["userErrors"] == [{"code": "INVALID_INPUT", "field": ["input", "file"],
                                      "message": "Send the file as a part of a multipart request."}]
    assert await Attachment.all().count() == 0 and storage.keys() == set()
