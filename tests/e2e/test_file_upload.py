"""A real multipart upload (GraphQL multipart request spec) to a real server with the gql client,
sent in a message, then fetched back over HTTP by the operator and by the visitor's signed link."""
from __future__ import annotations

import io

import httpx
from gql import Client, FileVar, gql
from gql.transport.httpx import HTTPXAsyncTransport

from tests.e2e.actors import start_visitor_chat

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
UPLOAD = """mutation($c: ID!, $f: Upload!) { uploadFile(input: {chatId: $c, file: $f}) {
  attachment { id name contentType size url } userErrors { code message } } }"""


async def _upload(graphql_url: str, token: str, chat_id: str, *, preflight: bool = True) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    if preflight:
        headers["Apollo-Require-Preflight"] = "true"
    transport = HTTPXAsyncTransport(url=graphql_url, headers=headers, timeout=15)
    async with Client(transport=transport) as session:
        request = gql(UPLOAD)
        request.variable_values = {"c": chat_id, "f": FileVar(io.BytesIO(PNG), filename="diagram.png",
                                                              content_type="application/octet-stream")}
        return await session.execute(request, upload_files=True)


async def test_multipart_upload_then_fetch_back(deployment, http, admin, http_client: httpx.AsyncClient):
    operator = await admin.create_operator()
    channel = await admin.create_open_channel([operator])
    visitor = await start_visitor_chat(http, channel)
    chat_id = visitor.chat_id
    await operator.answer(chat_id)

    result = await _upload(deployment.server.graphql_url, operator.token, chat_id)
    attachment = result["uploadFile"]["attachment"]
    assert result["uploadFile"]["userErrors"] == []
    assert (attachment["name"], attachment["contentType"], attachment["size"]) == ("diagram.png", "image/png", len(PNG))

    await operator.mutate("sendMessage", "message { id }",
                          {"chatId": chat_id, "text": "the diagram", "attachmentIds": [attachment["id"]]},
                          "SendMessageInput")
    # the URL is absolute: the address the request was sent to (no PUBLIC_URL on the e2e servers)
    assert attachment["url"].startswith(f"{deployment.server.base_url}/files/")
    fetched = await http_client.get(attachment["url"], headers={"Authorization": f"Bearer {operator.token}"})
    assert fetched.status_code == 200 and fetched.content == PNG
    assert (await http_client.get(attachment["url"])).status_code == 404

    own = await visitor.data("{ visitorChat { lastMessage { text attachments { url } } } }")
    link = own["visitorChat"]["lastMessage"]["attachments"][0]["url"]
    assert "signature=" in link
    assert (await http_client.get(link)).content == PNG


async def test_multipart_without_preflight_header_is_refused(deployment, http, admin, http_client):
    operator = await admin.create_operator()
    channel = await admin.create_open_channel([operator])
    chat_id = (await start_visitor_chat(http, channel)).chat_id
    await operator.answer(chat_id)
    response = await http_client.post(
        deployment.server.graphql_url, headers={"Authorization": f"Bearer {operator.token}"},
        files={"operations": (None, '{"query": "mutation($f: Upload!) { uploadFile(input: {chatId: \\"x\\", '
                                    'file: $f}) { userErrors { code } } }", "variables": {"f": null}}'),
               "map": (None, '{"0": ["variables.f"]}'), "0": ("a.png", PNG, "image/png")})
    assert response.status_code == 400
