"""Trusted documents against a real server with PERSISTED_OPERATIONS_ONLY=true, beside the
deployment's own (same database): operations registered with `openchannels operations register`
run by id for operators and visitors, any other document is refused with PERSISTED_QUERY_REQUIRED,
and an admin's document runs; over HTTP POST and GET and a WebSocket subscription (both protocols)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.e2e.actors import QUEUE_CHANGED, Admin, error_codes, unique
from tests.e2e.live import PROTOCOLS, TRANSPORT_WS, LiveConnection, LiveError, LiveSubscription
from tests.e2e.server import REPO_ROOT, Deployment, ServerProcess

ME = "query Me { me { operator { name role } } }"
START_CHAT = ("mutation StartChat($input: StartVisitorChatInput!) { startVisitorChat(input: $input) "
              "{ visitorToken chat { id status } userErrors { code } } }")
REQUIRED = "PERSISTED_QUERY_REQUIRED"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


@pytest_asyncio.fixture
async def trusted(deployment: Deployment, tmp_path) -> AsyncIterator[ServerProcess]:
    """The operations registered by the CLI (an Apollo manifest), and a server that runs only them."""
    manifest = tmp_path / "persisted-query-manifest.json"
    manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": sha256(body), "name": name, "type": kind, "body": body}
        for name, kind, body in [("Me", "query", ME), ("StartChat", "mutation", START_CHAT),
                                 (None, "subscription", QUEUE_CHANGED)]]}))
    done = subprocess.run([sys.executable, "-m", "openchannels.cli", "operations", "register", str(manifest)],
                          cwd=REPO_ROOT, env=deployment.environment(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    server = await deployment.start_server(env={"PERSISTED_OPERATIONS_ONLY": "true"})
    try:
        yield server
    finally:
        deployment.stop_server(server)


async def _post(client: httpx.AsyncClient, server: ServerProcess, body: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = await client.post(server.graphql_url, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_over_http_only_registered_operations_run_for_non_admins(
        trusted: ServerProcess, admin: Admin, http_client: httpx.AsyncClient):
    operator = await admin.create_operator()

    by_document_id = await _post(http_client, trusted, {"documentId": f"sha256:{sha256(ME)}"}, operator.token)
    by_apq_hash = await _post(http_client, trusted, {"extensions": {
        "persistedQuery": {"version": 1, "sha256Hash": sha256(ME)}}}, operator.token)
    over_get = await http_client.get(trusted.graphql_url, params={"documentId": sha256(ME)},
                                     headers={"Authorization": f"Bearer {operator.token}"})
    ad_hoc = await _post(http_client, trusted, {"query": ME}, operator.token)
    anonymous = await _post(http_client, trusted, {"query": "{ __typename }"})
    admins = await _post(http_client, trusted, {"query": ME + " # the admin's own"}, admin.token)

    assert "errors" not in by_document_id, by_document_id
    assert by_document_id["data"]["me"]["operator"]["role"] == "OPERATOR", by_document_id
    assert by_apq_hash == by_document_id
    assert over_get.status_code == 200 and over_get.json() == by_document_id
    assert error_codes(ad_hoc) == [REQUIRED] and ad_hoc.get("data") is None
    assert "openchannels operations register" in ad_hoc["errors"][0]["message"]
    assert error_codes(anonymous) == [REQUIRED]
    assert admins["data"]["me"]["operator"]["role"] == "ADMIN"


async def test_an_unknown_id_and_a_hash_sent_with_its_document_are_refused(
        trusted: ServerProcess, admin: Admin, http_client: httpx.AsyncClient):
    operator = await admin.create_operator()
    other = "query Other { me { operator { id } } }"

    unknown = await _post(http_client, trusted, {"documentId": sha256(other)}, operator.token)
    apq_upload = await _post(http_client, trusted, {"query": other, "extensions": {
        "persistedQuery": {"version": 1, "sha256Hash": sha256(other)}}}, operator.token)

    assert error_codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert error_codes(apq_upload) == [REQUIRED]  # APQ cannot add documents for non-admins


async def _subscribe_by_id(connection: LiveConnection, document_id: str, variables: dict) -> LiveSubscription:
    subscription = LiveSubscription(connection, unique("by-id"))
    connection.subscriptions[subscription.id] = subscription
    start = "subscribe" if connection.protocol == TRANSPORT_WS else "start"
    await connection.send({"id": subscription.id, "type": start,
                           "payload": {"documentId": document_id, "variables": variables}})
    return subscription


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_websocket_subscription_runs_by_id_and_an_ad_hoc_one_is_refused(
        trusted: ServerProcess, admin: Admin, http_client: httpx.AsyncClient, protocol: str):
    operator = await admin.create_operator()
    channel = await admin.create_open_channel([operator])
    variables = {"ids": [channel], "after": "0"}

    async with LiveConnection(trusted.ws_url, protocol=protocol, token=operator.token) as operators, \
            LiveConnection(trusted.ws_url, protocol=protocol, token=admin.token) as admins:
        refused = await operators.subscribe(QUEUE_CHANGED, variables)
        with pytest.raises(LiveError) as error:
            await refused.next()
        by_id = await _subscribe_by_id(operators, sha256(QUEUE_CHANGED), variables)
        admins_own = await admins.subscribe(QUEUE_CHANGED + " # the admin's own", variables)
        started = await _post(http_client, trusted, {"documentId": sha256(START_CHAT), "variables": {"input": {
            "openChannelId": channel, "name": unique("Guest"), "text": "Hello"}}})  # a visitor: by id too
        chat_id = started["data"]["startVisitorChat"]["chat"]["id"]

        assert error.value.codes == [REQUIRED]
        assert (await by_id.next())["queueChanged"]["chat"]["id"] == chat_id
        assert (await admins_own.next())["queueChanged"]["chat"]["id"] == chat_id
