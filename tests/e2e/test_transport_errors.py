"""What a client sees when something fails that nobody expected, on every transport: the masked
error (`extensions.code = "INTERNAL_SERVER_ERROR"` and a `requestId`, no detail of the fault),
with the traceback in the server's log under that request id. Never a bare "Internal Server
Error", never a dropped socket, never silence.

The faults are planted in a server of its own (tests/e2e/faulty_app.py): a query resolver
that raises, a subscription generator that raises, and a response that cannot be encoded.
"""
from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.e2e.faulty_app import FAULT, UNENCODABLE
from tests.e2e.live import LEGACY_WS, TRANSPORT_WS, LiveClosed, first_answer
from tests.e2e.server import Deployment, ServerProcess

POST = "POST"
FAULTS = {
    "query-raises": "{ me { operator { id } } }",
    "subscription-raises": "subscription { myChatsChanged { eventId } }",
    "unencodable-result": f"{{ {UNENCODABLE}: __typename }}",
}


@pytest_asyncio.fixture(scope="module")
async def faulty(deployment: Deployment) -> AsyncIterator[ServerProcess]:
    server = await deployment.start_server(factory="tests.e2e.faulty_app:create_app")
    try:
        yield server
    finally:
        deployment.stop_server(server)


def the_masked_error(errors: object, server: ServerProcess) -> str:
    """The one masked error among `errors`; its request id, whose traceback the log holds."""
    assert isinstance(errors, list) and len(errors) == 1, errors
    error = errors[0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR", error
    request_id = error["extensions"]["requestId"]
    assert re.fullmatch(r"[0-9a-f]{12}", request_id), error
    assert request_id in error["message"] and FAULT not in json.dumps(error), error
    log = server.log()
    logged = log.find(f"request {request_id} failed")
    assert logged >= 0 and FAULT in log[logged:], log[-3000:]
    return request_id


@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "subscription-raises"])
async def test_over_http(faulty: ServerProcess, deployment: Deployment, http_client: httpx.AsyncClient, fault: str):
    answer = await http_client.post(faulty.graphql_url, json={"query": FAULTS[fault]},
                                    headers={"Authorization": f"Bearer {deployment.admin_token}"})

    assert answer.headers["content-type"].startswith("application/json"), answer.text
    body = answer.json()
    assert body["data"] is None
    the_masked_error(body["errors"], faulty)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_over_websockets(faulty: ServerProcess, deployment: Deployment, protocol: str, fault: str):
    start = "subscribe" if protocol == TRANSPORT_WS else "start"
    answer = await first_answer(faulty.ws_url, protocol, deployment.admin_token,
                                json.dumps({"id": "1", "type": start, "payload": {"query": FAULTS[fault]}}))

    assert not isinstance(answer, LiveClosed), answer
    assert answer["id"] == "1" and answer["type"] in ("next", "data", "error"), answer
    payload = answer["payload"]
    if answer["type"] == "error":
        errors = payload if isinstance(payload, list) else [payload]
    else:
        assert payload["data"] is None, answer
        errors = payload["errors"]
    the_masked_error(errors, faulty)
