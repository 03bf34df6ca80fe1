"""GraphQL over HTTP on a real server: the `graphql-http` audit, media types and status codes,
batching, GET and multipart rules, query limits, and production mode (a second server process
on the same deployment with OPENCHANNELS_ENV=production)."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.compliance.graphql_http import audit
from tests.e2e.actors import Admin, unique
from tests.e2e.server import Deployment, ServerProcess

GRAPHQL_RESPONSE = "application/graphql-response+json"
#: the graphql-http audits whose requests use introspection (`__type`)
AUDITS_USING_INTROSPECTION = ("2EA1", "28B9", "D6D5", "6A70")
PRODUCTION_ENV = {"OPENCHANNELS_ENV": "production", "QUERY_MAX_DEPTH": "4"}


def _not_ok(results: list[dict]) -> list[str]:
    return [f"{r['status']} {r['id']} {r['name']}: {r['reason']}" for r in results if r["status"] != "ok"]


async def _post(client: httpx.AsyncClient, url: str, body, *, accept: str | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if accept:
        headers["Accept"] = accept
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post(url, content=json.dumps(body), headers=headers)


async def _operator_emails(admin: Admin) -> list[str]:
    return [o["email"] for o in (await admin.data("{ operators { email } }"))["operators"]]


def _create_operators(count: int, tag: str) -> str:
    return "mutation { " + " ".join(
        f'm{i}: createOperator(input: {{name: "{tag} {i}", email: "{tag}-{i}@e2e.test"}}) {{ operator {{ id }} }}'
        for i in range(count)) + " }"


@pytest_asyncio.fixture
async def production(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    """A production-mode server process beside the deployment's own, on the same database."""
    server = await deployment.start_server(env=PRODUCTION_ENV)
    try:
        yield server
    finally:
        deployment.stop_server(server)


async def test_the_graphql_http_audit_finds_no_error_and_no_warning(deployment: Deployment):
    results = audit(deployment.server.graphql_url)

    assert len(results) >= 50  # the whole audit ran
    assert _not_ok(results) == []


async def test_the_client_gets_the_media_type_it_prefers(deployment: Deployment, http_client: httpx.AsyncClient):
    url = deployment.server.graphql_url
    for accept, expected in [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ]:
        answer = await _post(http_client, url, {"query": "{ __typename }"}, accept=accept)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == f"{expected}; charset=utf-8", accept
        assert answer.headers.get_list("content-length") == [str(len(answer.content))]  # one, and the body's
        assert answer.json() == {"data": {"__typename": "Query"}}


async def test_request_errors_are_400_without_data_under_graphql_response_json(deployment: Deployment, admin: Admin,
                                                                                http_client: httpx.AsyncClient):
    url = deployment.server.graphql_url
    deep = "{ me { operator { openChannels { operators { openChannels { operators { openChannels { operators " \
           "{ openChannels { operators { openChannels { operators { openChannels { operators { openChannels " \
           "{ name } } } } } } } } } } } } } } } }"
    for query, variables in [
        ("{ me {", None),                                                   # does not parse
        ("{ nope }", None),                                                 # does not validate
        ("query($n: Int) { conversations(first: $n) { totalCount } }", {"n": "ten"}),  # variable coercion
        (deep, None),                                                       # a query limit
    ]:
        graphql_response = await _post(http_client, url, {"query": query, "variables": variables},
                                       accept=GRAPHQL_RESPONSE, token=admin.token)
        assert graphql_response.status_code == 400, query
        assert graphql_response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in graphql_response.json() and graphql_response.json()["errors"]

        legacy = await _post(http_client, url, {"query": query, "variables": variables},
                             accept="application/json", token=admin.token)
        assert legacy.status_code == 200
        assert legacy.json()["data"] is None and legacy.json()["errors"]

    limit = await _post(http_client, url, {"query": deep}, accept=GRAPHQL_RESPONSE, token=admin.token)
    assert limit.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": "depth",
                                                       "maximum": 15, "actual": 16}


async def test_a_field_error_stays_200_under_both_media_types(deployment: Deployment, http_client: httpx.AsyncClient):
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        answer = await _post(http_client, deployment.server.graphql_url, {"query": "{ me { unreadCount } }"},
                             accept=accept)
        assert answer.status_code == 200
        assert answer.json()["data"] is None
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert answer.json()["errors"][0]["path"] == ["me"]


async def test_a_batch_is_refused_and_runs_nothing(deployment: Deployment, admin: Admin,
                                                  http_client: httpx.AsyncClient):
    tag = unique("batch")
    batch = [{"query": f'mutation {{ createOperator(input: {{name: "B", email: "{tag}-{i}@e2e.test"}}) '
                       f'{{ operator {{ id }} }} }}'} for i in range(2)]

    answer = await _post(http_client, deployment.server.graphql_url, batch, token=admin.token)

    assert answer.status_code == 400
    assert "batching is not enabled" in answer.text.lower()
    assert not [e for e in await _operator_emails(admin) if e.startswith(tag)]


async def test_a_mutation_over_get_is_405_and_runs_nothing(deployment: Deployment, admin: Admin,
                                                          http_client: httpx.AsyncClient):
    tag = unique("get")
    answer = await http_client.get(deployment.server.graphql_url, params={"query": _create_operators(1, tag)},
                                   headers={"Authorization": f"Bearer {admin.token}", "Accept": GRAPHQL_RESPONSE})

    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert not [e for e in await _operator_emails(admin) if e.startswith(tag)]
    query = await http_client.get(deployment.server.graphql_url, params={"query": "{ __typename }"},
                                  headers={"Accept": GRAPHQL_RESPONSE})
    assert query.status_code == 200 and query.json() == {"data": {"__typename": "Query"}}


async def test_multipart_needs_the_preflight_header(deployment: Deployment, admin: Admin,
                                                   http_client: httpx.AsyncClient):
    operations = {"query": "mutation { __typename }", "variables": {}}
    form = {"operations": json.dumps(operations), "map": "{}"}
    headers = {"Authorization": f"Bearer {admin.token}"}

    refused = await http_client.post(deployment.server.graphql_url, data=form, files={"x": ("x.txt", b"x")},
                                     headers=headers)
    accepted = await http_client.post(deployment.server.graphql_url, data=form, files={"x": ("x.txt", b"x")},
                                      headers={**headers, "Apollo-Require-Preflight": "true"})

    assert refused.status_code == 400 and "Apollo-Require-Preflight" in refused.text
    assert accepted.status_code == 200 and accepted.json() == {"data": {"__typename": "Mutation"}}


async def test_an_operation_over_a_limit_changes_nothing(deployment: Deployment, admin: Admin,
                                                        http_client: httpx.AsyncClient):
    tag = unique("roots")
    answer = await _post(http_client, deployment.server.graphql_url, {"query": _create_operators(21, tag)},
                         token=admin.token)

    assert answer.status_code == 200
    assert answer.json()["data"] is None
    assert [e["extensions"]["limit"] for e in answer.json()["errors"]] == ["rootFields"]
    assert not [e for e in await _operator_emails(admin) if e.startswith(tag)]


async def test_production_mode(production: ServerProcess, admin: Admin, http_client: httpx.AsyncClient):
    url = production.graphql_url
    ide = await http_client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert ide.status_code == 404 and "graphiql" not in ide.text.lower()

    introspection = await _post(http_client, url, {"query": "{ __schema { types { name } } }"})
    assert introspection.status_code == 200 and introspection.json()["data"] is None
    assert {e["extensions"]["code"] for e in introspection.json()["errors"]} == {"INTROSPECTION_DISABLED"}

    typo = await _post(http_client, url, {"query": "{ conversationz { totalCount } }"}, token=admin.token)
    assert "Did you mean" not in typo.text and "'conversations'" not in typo.text

    depth = await _post(http_client, url, {"query": "{ me { operator { openChannels { operators { name } } } } }"},
                        token=admin.token)
    assert depth.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": "depth",
                                                       "maximum": 4, "actual": 5}
    ok = await _post(http_client, url, {"query": "{ me { operator { name } } }"}, token=admin.token)
    assert ok.json() == {"data": {"me": {"operator": {"name": "E2E Admin"}}}}

    # production refuses introspection, and these audits send `__type(name: $name)` queries with variables
    assert sorted(r["id"] for r in audit(url) if r["status"] != "ok") == sorted(AUDITS_USING_INTROSPECTION)
