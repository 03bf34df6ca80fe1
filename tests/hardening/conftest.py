"""Hardening fixtures: a real server per backend, kept for the fuzzing and hostile-input tests.

`hardened` is parametrised ("sqlite", "postgres") and made once per session and backend
like the e2e `deployment`, but it is a deployment of its own: the fuzzer creates and renames things at
random, and no other test should see that. Its server runs without the scheduler (nothing
changes behind a test's back, so "the database is unchanged" is exact) and without any
outside provider (no Giphy key, no S3 bucket: every request stays on loopback).

``World` holds objects of every ID type, made over the API (`build_world`): an operator, an
open channel, visitors' chats answered by the operator with messages, a finished chat, a
canned response, a product, an order, a task, a feed post, a connector and the clients. The
`hardened` fixture's world is the fuzzer's to spoil; a test that needs objects in a known
state builds its own world on the same deployment. Actors' HTTP clients are closed after
the build: use their tokens.
"""
from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.e2e.actors import Actor, Admin, GraphQLHttp, Operator, Visitor, start_visitor_chat
from tests.e2e.server import Deployment, prepare

BACKENDS = ["sqlite", "postgres"]

#: the hardening server's environment: no scheduler, no outside provider, no rate limit (the
#: fuzzer and the hostile-input tests call login and startVisitorChat hundreds of times a minute)
SERVER_ENVIRONMENT = {"SCHEDULER_INTERVAL_SECONDS": "0", "GIPHY_API_KEY": "", "S3_BUCKET": "",
                      "RATE_LIMIT_LOGIN_PER_MINUTE": "0", "RATE_LIMIT_START_VISITOR_CHAT_PER_MINUTE": "0",
                      "RATE_LIMIT_VISITOR_TOKEN_PER_MINUTE": "0", "RATE_LIMIT_OPERATOR_TOKEN_PER_MINUTE": "0"}


#: visitors' chats in the world: all answered by the operator, the last one finished
WORLD_CHATS = 3


@dataclass
class World:
    deployment: Deployment
    admin: Admin
    operator: Operator
    visitors: list[Visitor]
    #: type name ("Chat", "Message", ...) -> global IDs of existing objects of that type
    ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.deployment.server.graphql_url

    @property
    def visitor(self) -> Visitor:
        """A visitor whose chat is active."""
        return self.visitors[0]

    @property
    def finished_visitor(self) -> Visitor:
        """A visitor whose chat is finished (they may rate it)."""
        return self.visitors[-1]

    def id(self, type_name: str) -> str:
        return self.ids[type_name][0]

    def all_ids(self) -> list[str]:
        return [i for ids in self.ids.values() for i in ids]

    def server_log(self) -> str:
        return self.deployment.server.log()

    async def row_counts(self) -> dict[str, int]:
        """Rows of every table, read straight from the database (not through the API)."""
        url = self.deployment.database_url
        if url.startswith("sqlite://"):
            with sqlite3.connect(f"file:{url.removeprefix('sqlite://')}?mode=ro", uri=True, timeout=10) as db:
                tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1), timeout=10)
        try:
            tables = [r["tablename"] for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
            return {t: await connection.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
        finally:
            await connection.close()


def _made_id(payload: dict) -> str:
    """The id of the object a mutation payload returns (its one key besides userErrors)."""
    return next(v for k, v in payload.items() if k != "userErrors")["id"]


async def build_world(deployment: Deployment, client: httpx.AsyncClient) -> World:
    http = GraphQLHttp(client, deployment.server.graphql_url)
    admin = Admin(http, deployment.admin_token)
    admin.id = (await admin.data("{ me { operator { id } } }"))["me"]["operator"]["id"]
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    world = World(deployment, admin, operator, [], ids={"Operator": [operator.id, admin.id],
                                                        "OpenChannel": [channel_id]})
    for number in range(WORLD_CHATS):
        visitor = await start_visitor_chat(http, channel_id, text=f"Hello from visitor {number}")
        await operator.answer(visitor.chat_id)
        if number == WORLD_CHATS - 1:  # a finished chat, for its visitor to rate
            await operator.finish(visitor.chat_id)
            world.visitors.append(visitor)
            world.ids["Chat"].append(visitor.chat_id)
            continue
        message = await operator.send(visitor.chat_id, "A first answer")
        await visitor.send("Thanks")
        client_id = (await operator.data("query ($id: ID!) { chat(id: $id) { client { id } } }",
                                         id=visitor.chat_id))["chat"]["client"]["id"]
        world.visitors.append(visitor)
        world.ids.setdefault("Chat", []).append(visitor.chat_id)
        world.ids.setdefault("Message", []).append(message["id"])
        world.ids.setdefault("Client", []).append(client_id)
    message_id, chat_id = world.id("Message"), world.id("Chat")
    product = await admin.mutate("createProduct", "product { id }", {"name": "Widget", "price": 9.99, "currency": "EUR"},
                                 "CreateProductInput")
    made = {
        "Product": product,
        "Order": await operator.mutate(
            "createChatOrder", "order { id }", {"chatId": chat_id, "items": [{"productId": _made_id(product),
                                                                               "quantity": 2}]},
            "CreateChatOrderInput"),
        "CannedResponse": await operator.mutate(
            "createCannedResponse", "cannedResponse { id }", {"title": "Greeting", "text": "Hello {client.name}"},
            "CreateCannedResponseInput"),
        "Task": await operator.mutate("createTaskFromMessage", "task { id }", {"messageId": message_id},
                                      "CreateTaskFromMessageInput"),
        "FeedPost": await operator.mutate("createFeedPostFromMessage", "feedPost { id }",
                                          {"messageId": message_id}, "CreateFeedPostFromMessageInput"),
        "Connector": await admin.mutate(
            "createConnector", "connector { id }",
            {"name": "Hook", "kind": "WEBHOOK", "openChannelId": channel_id, "callbackUrl": "http://127.0.0.1:9/hook"},
            "CreateConnectorInput"),
    }
    for type_name, payload in made.items():
        world.ids[type_name] = [_made_id(payload)]
    return world


@pytest_asyncio.fixture(scope="session")
async def hardened_worlds() -> AsyncIterator[dict[str, World]]:
    """The hardened worlds of this session by backend, made on first use; their deployments are closed at
    the end of the session (not a parametrised session fixture: see `e2e_deployments` in tests/e2e/conftest.py)."""
    made: dict[str, World] = {}
    try:
        yield made
    finally:
        for world in made.values():
            await world.deployment.close()


@pytest_asyncio.fixture(scope="module", params=BACKENDS, ids=BACKENDS)
async def hardened(request: pytest.FixtureRequest, hardened_worlds: dict[str, World],
                   tmp_path_factory: pytest.TempPathFactory) -> World:
    if request.param in hardened_worlds:
        return hardened_worlds[request.param]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SERVER_ENVIRONMENT.items():
            patch.setenv(name, value)
        deployment = await prepare(request.param, tmp_path_factory.mktemp(f"hardening-{request.param}"))
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30)) as client:
            world = await build_world(deployment, client)
    except BaseException:
        await deployment.close()
        raise
    hardened_worlds[request.param] = world
    return world


@pytest_asyncio.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60)) as client:
        yield client


@pytest.fixture
def anonymous(hardened: World, http_client: httpx.AsyncClient) -> Actor:
    return Actor(GraphQLHttp(http_client, hardened.url), None)
