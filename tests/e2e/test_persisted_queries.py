"""Automatic persisted queries (Apollo's protocol) over real HTTP, POST and GET."""
from __future__ import annotations

import hashlib
import json

import httpx

from tests.e2e.actors import Admin, unique
from tests.e2e.server import Deployment

ME = "query Me { me { operator { name role } } }"


def _apq(document: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(document.encode()).hexdigest()}}


def _codes(body: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


async def test_a_hash_runs_once_the_server_has_seen_its_document(deployment: Deployment,
                                                                  http_client: httpx.AsyncClient):
    url = deployment.server.graphql_url
    auth = {"Authorization": f"Bearer {deployment.admin_token}"}
    document = ME + f" # {unique('apq')}"  # a document no earlier test registered

    unknown = (await http_client.post(url, json={"extensions": _apq(document)}, headers=auth)).json()
    assert _codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert unknown["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = (await http_client.post(url, json={"query": document, "extensions": _apq(document)},
                                         headers=auth)).json()
    assert registered["data"]["me"]["operator"]["role"] == "ADMIN"

    by_hash = (await http_client.post(url, json={"extensions": _apq(document)}, headers=auth)).json()
    assert by_hash == registered
    over_get = await http_client.get(url, params={"extensions": json.dumps(_apq(document))}, headers=auth)
    assert over_get.status_code == 200, over_get.text
    assert over_get.json() == registered


async def test_a_hash_that_is_not_the_documents_is_refused(deployment: Deployment, http_client: httpx.AsyncClient):
    url = deployment.server.graphql_url
    auth = {"Authorization": f"Bearer {deployment.admin_token}"}
    lie = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(b"{ __typename }").hexdigest()}}
    body = (await http_client.post(url, json={"query": ME, "extensions": lie}, headers=auth)).json()
    assert _codes(body) == ["PERSISTED_QUERY_INVALID"] and body.get("data") is None
    again = (await http_client.post(url, json={"extensions": lie}, headers=auth)).json()
    assert _codes(again) == ["PERSISTED_QUERY_NOT_FOUND"]  # the false pairing was not remembered


async def test_a_persisted_mutation_is_still_refused_over_get(deployment: Deployment, admin: Admin,
                                                              http_client: httpx.AsyncClient):
    url = deployment.server.graphql_url
    auth = {"Authorization": f"Bearer {deployment.admin_token}"}
    mutation = f'mutation {{ setStatus(status: ONLINE) {{ userErrors {{ code }} }} }} # {unique("apq")}'
    await http_client.post(url, json={"query": mutation, "extensions": _apq(mutation)}, headers=auth)
    refused = await http_client.get(url, params={"extensions": json.dumps(_apq(mutation))}, headers=auth)
    assert refused.status_code == 405
