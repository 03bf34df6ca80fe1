"""What an operator of the service sees on a real server: /metrics in Prometheus's format (behind
METRICS_TOKEN on the main port, or alone on METRICS_PORT), JSON logs with the request id a masked
error showed the client, and several workers answering a scrape with the same totals.

The server of this module runs the planted faults of tests/e2e/faulty_app.py (`me` raises), so a
masked error can be produced at will; everything else is the real application.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import InvalidStatus

from bench.ports import free_port
from tests.e2e.actors import QUEUE_CHANGED, Admin, GraphQLHttp, start_visitor_chat
from tests.e2e.faulty_app import FAULT
from tests.e2e.live import LiveConnection
from tests.e2e.server import Deployment, ServerProcess

METRICS_TOKEN = "e2e-metrics-token"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when the series does not exist yet (as Prometheus would read it)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def operations(samples: Samples, operation: str, kind: str, outcome: str) -> float:
    return value(samples, "openchannels_graphql_operations_total", operation=operation, type=kind, outcome=outcome)


@pytest_asyncio.fixture(scope="module")
async def observed(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    server = await deployment.start_server(env={"METRICS_TOKEN": METRICS_TOKEN, "LOG_FORMAT": "json"},
                                           factory="tests.e2e.faulty_app:create_app")
    try:
        yield server
    finally:
        deployment.stop_server(server)


async def scrape(client: httpx.AsyncClient, server: ServerProcess) -> Samples:
    answer = await client.get(f"{server.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain"), answer.headers
    return parse(answer.text)


async def test_metrics_move_with_queries_mutations_and_subscriptions(observed: ServerProcess, deployment: Deployment,
                                                                     http_client: httpx.AsyncClient):
    http = GraphQLHttp(http_client, observed.graphql_url)
    admin = Admin(http, deployment.admin_token)
    channel = await admin.create_open_channel([])
    before = await scrape(http_client, observed)

    assert (await admin.call("query OpsChannels { openChannels { id } }"))["data"]["openChannels"]
    refused = await http.post("mutation OpsLogin($input: LoginInput!) { login(input: $input) { token userErrors "
                              "{ code } } }", {"input": {"email": "nobody@e2e.test", "password": "wrong"}})
    assert refused["data"]["login"]["userErrors"], refused
    masked = await admin.call("query OpsMe { me { operator { id } } }")
    assert masked["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    await admin.call("{ __typename }")
    await admin.call("query OpsBroken {")

    async with LiveConnection(observed.ws_url, token=deployment.admin_token) as live:
        subscription = await live.subscribe(QUEUE_CHANGED.replace("subscription (", "subscription OpsQueue(", 1),
                                            {"ids": [channel]})
        await start_visitor_chat(http, channel)
        event = await subscription.next()
        assert event["queueChanged"]["openChannel"]["id"] == channel
        during = await scrape(http_client, observed)
    after = await _settled(http_client, observed)

    def moved(samples: Samples, *key: str) -> float:
        return operations(samples, *key) - operations(before, *key)

    assert moved(after, "OpsChannels", "query", "ok") == 1
    assert moved(after, "OpsLogin", "mutation", "user_error") == 1
    assert moved(after, "OpsMe", "query", "error") == 1
    assert moved(after, "anonymous", "query", "ok") == 1
    assert moved(after, "other", "unknown", "user_error") == 1  # a document that does not parse
    assert moved(after, "OpsQueue", "subscription", "ok") == 1  # counted when it ended
    latency = "openchannels_graphql_operation_seconds_count"
    assert (value(after, latency, operation="OpsChannels", type="query")
            - value(before, latency, operation="OpsChannels", type="query")) == 1

    assert value(during, "openchannels_websockets_open") == 1
    assert value(during, "openchannels_subscriptions_active") == 1
    assert value(after, "openchannels_websockets_open") == 0
    assert value(after, "openchannels_subscriptions_active") == 0
    lag = "openchannels_event_delivery_lag_seconds_count"
    assert value(during, lag) > value(before, lag)  # the visitor's chat reached this process's subscribers
    assert value(after, "openchannels_scheduler_round_seconds_count") >= 1
    assert ("openchannels_broker_publish_failures_total", frozenset()) in after
    if deployment.backend == "postgres":
        assert value(after, "openchannels_database_pool_max") >= 1


async def _settled(client: httpx.AsyncClient, server: ServerProcess) -> Samples:
    """The metrics once the closed WebSocket has been let go by the server (it closes after the client)."""
    for _ in range(100):
        samples = await scrape(client, server)
        if value(samples, "openchannels_websockets_open") == 0:
            return samples
        await asyncio.sleep(0.05)
    return samples


async def test_metrics_on_the_main_port_need_the_token(observed: ServerProcess, deployment: Deployment,
                                                       http_client: httpx.AsyncClient):
    url = f"{observed.base_url}/metrics"
    assert (await http_client.get(url)).status_code == 401
    refused = await http_client.get(url, headers={"Authorization": "Bearer not-the-token"})
    assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "openchannels_" not in refused.text
    # a server without METRICS_TOKEN (and without METRICS_PORT) has no /metrics at all
    assert (await http_client.get(f"{deployment.server.base_url}/metrics")).status_code == 404


async def test_json_logs_carry_the_request_id_of_a_masked_error(observed: ServerProcess, deployment: Deployment,
                                                                http_client: httpx.AsyncClient):
    answer = await http_client.post(observed.graphql_url, json={"query": "{ me { operator { id } } }"},
                                    headers={"Authorization": f"Bearer {deployment.admin_token}"})
    request_id = answer.json()["errors"][0]["extensions"]["requestId"]

    lines = [line for line in observed.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(record, dict) and {"time", "level", "logger", "message"} <= set(record)
               for record in records), lines
    mine = [record for record in records if record.get("request_id") == request_id]
    assert len(mine) == 1, records[-5:]
    assert mine[0]["level"] == "error" and mine[0]["logger"] == "openchannels.errors"
    assert f"request {request_id} failed" in mine[0]["message"] and FAULT in mine[0]["exception"]


# ---------------------------------------------------------------- `openchannels serve`, 2 workers


def _serve(workdir: Path, port: int, metrics_port: int, redis_url: str) -> subprocess.Popen:
    from tests.cli.running import COMMAND, cli_env, sqlite_url

    env = cli_env(sqlite_url(workdir), OPENCHANNELS_PORT=str(port), METRICS_PORT=str(metrics_port),
                  OPENCHANNELS_WORKERS="2", REDIS_URL=redis_url, REDIS_CHANNEL=f"openchannels-e2e:{uuid.uuid4().hex}",
                  LOG_FORMAT="json", SCHEDULER_INTERVAL_SECONDS="0", PYTHONUNBUFFERED="1")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (workdir / "serve.log").open("w")
    return subprocess.Popen([*COMMAND, "serve"], cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)


async def _healthy(client: httpx.AsyncClient, url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if (await client.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)  # polling for start-up, bounded
    raise AssertionError(log.read_text())


@pytest.mark.postgres_only
async def test_two_workers_answer_a_scrape_on_the_metrics_port_with_the_same_totals(deployment: Deployment,
                                                                                    tmp_path: Path):
    port, metrics_port = free_port(), free_port()
    process = _serve(tmp_path, port, metrics_port, deployment.redis_url)
    base, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            await _healthy(client, f"{base}/healthz", process, tmp_path / "serve.log")
            await _healthy(client, f"{metrics}/metrics", process, tmp_path / "serve.log")

            assert (await client.get(f"{base}/metrics")).status_code == 404  # not on the main port
            assert (await client.post(f"{metrics}/graphql", json={"query": "{ __typename }"})).status_code == 404
            with pytest.raises(InvalidStatus) as refused:  # nor GraphQL over a WebSocket there
                await websockets.connect(f"ws://127.0.0.1:{metrics_port}/graphql",
                                         subprotocols=["graphql-transport-ws"])
            assert refused.value.response.status_code == 403
            for _ in range(12):  # a connection each: the two workers share the requests
                async with httpx.AsyncClient(timeout=10) as one:
                    answer = await one.post(f"{base}/graphql", json={"query": "query OpsPing { __typename }"})
                    assert answer.json() == {"data": {"__typename": "Query"}}
            totals = set()
            for _ in range(6):  # a connection each: any worker may answer
                async with httpx.AsyncClient(timeout=10) as one:
                    scraped = parse((await one.get(f"{metrics}/metrics")).text)
                totals.add(operations(scraped, "OpsPing", "query", "ok"))
            assert totals == {12}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    access = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()
              if line.startswith("{") and '"uvicorn.access"' in line]
    graphql = [line for line in access if line["path"] == "/graphql" and line["method"] == "POST"]
    assert sorted(line["status"] for line in graphql) == [200] * 12 + [404], access  # 404: on the metrics port
    main_port = [line for line in graphql if line["status"] == 200]
    assert len({line["request_id"] for line in main_port}) == 12  # one id per request
