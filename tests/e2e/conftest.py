"""End-to-end fixtures: a real uvicorn server per backend, real HTTP and WebSocket clients.

`deployment` is parametrised like the rest of the suite ("sqlite", "postgres") and made once
per session and backend (`e2e_deployments`): each backend gets a fresh database (a SQLite file
in a temp folder, or a PostgreSQL database created for this run and dropped at the end), its
migrations (a copy of a migrated template: tests/e2e/server.py), an admin
made by `openchannels create-operator`'s code, and one server process started once for every
e2e test of that backend. On postgres the server uses Redis on a channel unique to this run.
PostgreSQL or Redis unreachable is an error, not a skip.

Tests share the server, so each builds its own open channels, operators and chats over the
API and only looks at those (subscriptions filter by its own channels and chats).
"""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.e2e.actors import Admin, GraphQLHttp
from tests.e2e.server import Deployment, ServerProcess, prepare

#: the end of each server's log shown under a failed e2e test
FAILURE_LOG_CHARS = 4000

BACKENDS = ["sqlite", "postgres"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="postgres_only: needs PostgreSQL and Redis (several processes, real row locks)")
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("postgres_only") and callspec and callspec.params.get("deployment") == "sqlite":
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed e2e test shows the end of the log of every server it talked to (a masked error's
    request id is only useful beside the server's record of it)."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    servers: list[ServerProcess] = []
    for value in getattr(item, "funcargs", {}).values():
        candidates = value.servers if isinstance(value, Deployment) else [value]
        servers += [s for s in candidates if isinstance(s, ServerProcess) and s not in servers]
    for server in servers:
        try:
            tail = server.log()[-FAILURE_LOG_CHARS:]
        except OSError as error:
            tail = f"(no log: {error})"
        report.sections.append((f"server log {server.base_url} ({report.when})", tail))


@pytest_asyncio.fixture(scope="session")
async def e2e_deployments() -> AsyncIterator[dict[str, Deployment]]:
    """The deployments of this session by backend, made on first use, closed at the end of the session.

    (Not a parametrised session fixture: pytest keeps one instance of such a fixture at a time, and
    under `--dist loadfile` a worker runs a file's sqlite and postgres tests one after the other,
    so every file tore down and prepared both deployments again.)"""
    made: dict[str, Deployment] = {}
    try:
        yield made
    finally:
        for prepared in made.values():
            await prepared.close()


@pytest_asyncio.fixture(scope="module", params=BACKENDS, ids=BACKENDS)
async def deployment(request: pytest.FixtureRequest, e2e_deployments: dict[str, Deployment],
                     tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """This backend's deployment, the same one for every e2e test of the session."""
    if request.param not in e2e_deployments:
        e2e_deployments[request.param] = await prepare(request.param, tmp_path_factory.mktemp(f"e2e-{request.param}"))
    return e2e_deployments[request.param]


@pytest_asyncio.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(15), limits=httpx.Limits(max_connections=100)) as client:
        yield client


@pytest.fixture
def http(deployment: Deployment, http_client: httpx.AsyncClient) -> GraphQLHttp:
    """POST /graphql on the deployment's first server."""
    return GraphQLHttp(http_client, deployment.server.graphql_url)


@pytest.fixture
def admin(deployment: Deployment, http: GraphQLHttp) -> Admin:
    """The admin created by the CLI, acting over HTTP."""
    return Admin(http, deployment.admin_token)


@pytest.fixture
def ws_url(deployment: Deployment) -> str:
    return deployment.server.ws_url
