"""Liveness and readiness of a running server, on each backend (the failure cases are in
test_redis_outage.py and test_database_outage.py)."""
from __future__ import annotations

from tests.e2e.server import Deployment


async def test_healthz_says_the_process_is_up_and_readyz_that_database_and_broker_answer(deployment: Deployment,
                                                                                        http_client):
    live = await http_client.get(f"{deployment.server.base_url}/healthz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await http_client.get(f"{deployment.server.base_url}/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok", "broker": "ok"})
    assert ready.headers["cache-control"] == "no-store"
