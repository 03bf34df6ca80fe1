"""Redis stopped mid-run (this test's own redis-server, killed and started again on its port).

Mutations still succeed and commit; subscriptions stay open and are told nothing false; every
event committed meanwhile reaches them exactly once, in order: at once on the process whose
publish failed (it re-reads the database), on the other processes as soon as Redis is back
(their PubSub subscribes again and re-reads) — without the client reconnecting. A client that
does reconnect with `after` gets the missed events replayed, even while Redis is down.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.e2e.actors import CHAT_EVENTS, Admin, GraphQLHttp, Operator, Visitor, start_visitor_chat
from tests.e2e.live import TRANSPORT_WS, LiveConnection, LiveSubscription
from tests.e2e.outages import RedisServer, wait_for_readiness
from tests.e2e.server import Deployment, prepare


@pytest_asyncio.fixture(scope="module", params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
async def redis_deployment(request: pytest.FixtureRequest,
                           tmp_path_factory) -> AsyncIterator[tuple[Deployment, RedisServer]]:
    """A deployment whose broker is a redis-server of its own: one process on sqlite, two on postgres.
    The periodic catch-up is off, so what is tested is the reaction to the failure itself."""
    workdir = tmp_path_factory.mktemp(f"redis-outage-{request.param}")
    redis = RedisServer(workdir)
    redis.start()
    try:
        deployment = await prepare(request.param, workdir, redis_url=redis.url)
        try:
            deployment.extra_env["EVENT_CATCHUP_SECONDS"] = "0"
            deployment.stop_server(deployment.server)  # started before extra_env was set
            await deployment.start_server()
            if request.param == "postgres":
                await deployment.start_server()
            yield deployment, redis
        finally:
            await deployment.close()
    finally:
        redis.stop()


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(15)) as http_client:
        yield http_client


@pytest_asyncio.fixture
async def running_redis(redis_deployment) -> AsyncIterator[tuple[Deployment, RedisServer]]:
    """Redis is running at the start and at the end of each test (and every server ready)."""
    deployment, redis = redis_deployment
    yield deployment, redis
    if redis.process is None or redis.process.poll() is not None:
        redis.start()


async def until_message(subscription: LiveSubscription, message_id: str) -> list[dict[str, Any]]:
    """chatEvents up to and including the event of the message `message_id`."""
    seen = []
    while not seen or (seen[-1]["message"] or {}).get("id") != message_id:
        seen.append((await subscription.next())["chatEvents"])
    return seen


async def one_chat(http: GraphQLHttp, deployment: Deployment) -> tuple[Operator, Visitor]:
    admin = Admin(http, deployment.admin_token)
    operator = await admin.create_operator()
    channel_id = await admin.create_open_channel([operator])
    visitor = await start_visitor_chat(http, channel_id)
    await operator.answer(visitor.chat_id)
    return operator, visitor


def assert_no_errors(subscription: LiveSubscription) -> None:
    """Nothing but events has arrived (no error, no completion, no close)."""
    assert all(kind == "next" and not payload.get("errors") for kind, payload in subscription.inbox._queue), \
        list(subscription.inbox._queue)


async def test_events_committed_while_redis_is_down_reach_open_subscriptions_in_order(running_redis, client):
    deployment, redis = running_redis
    process_a = deployment.servers[0]
    process_b = deployment.servers[-1]  # the same process on sqlite
    http = GraphQLHttp(client, process_a.graphql_url)
    operator, visitor = await one_chat(http, deployment)
    visitor = Visitor(http, visitor.token, chat_id=visitor.chat_id)

    async with LiveConnection(process_a.ws_url, protocol=TRANSPORT_WS, token=operator.token) as on_a, \
            LiveConnection(process_b.ws_url, protocol=TRANSPORT_WS, token=operator.token) as on_b:
        sub_a = await on_a.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
        sub_b = await on_b.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
        before = await operator.send(visitor.chat_id, "before the outage")
        last_a = (await until_message(sub_a, before["id"]))[-1]["eventId"]
        last_b = (await until_message(sub_b, before["id"]))[-1]["eventId"]
        assert last_a == last_b

        redis.stop()
        body = await wait_for_readiness(process_a, client, 503)
        assert body == {"status": "unavailable", "database": "ok", "broker": "unavailable"}

        # every mutation goes through process A and succeeds: the changes are committed
        during = [await operator.send(visitor.chat_id, "one"),
                  await visitor.send("two"),
                  await operator.send(visitor.chat_id, "a note", silent=True),
                  await operator.send(visitor.chat_id, "three")]
        chat = await operator.chat_with_messages(visitor.chat_id)
        assert [e["node"]["text"] for e in chat["messages"]["edges"]][-4:] == ["one", "two", "a note", "three"]
        assert "could not publish" in process_a.log()

        # process A's publish failed: its subscriber re-read the database at once
        on_a_during = [(await sub_a.next())["chatEvents"] for _ in during]
        assert [e["message"]["id"] for e in on_a_during] == [m["id"] for m in during]
        if process_b is not process_a:
            # process B published nothing and could not hear A: nothing yet, and nothing false
            await asyncio.sleep(0.5)
            assert sub_b.inbox.empty(), list(sub_b.inbox._queue)
        assert_no_errors(sub_a)

        redis.start()
        for server in deployment.servers:
            assert await wait_for_readiness(server, client, 200) == {"status": "ok", "database": "ok", "broker": "ok"}
        on_b_after = [(await sub_b.next())["chatEvents"] for _ in during]
        for received, last in ((on_a_during, last_a), (on_b_after, last_b)):
            assert [e["message"]["id"] for e in received] == [m["id"] for m in during]
            ids = [int(e["eventId"]) for e in received]
            assert ids == sorted(set(ids)) and ids[0] > int(last)

        # live again, through Redis: the next event on each subscription is the new one (no duplicate)
        after = await Operator(GraphQLHttp(client, process_b.graphql_url), operator.token).send(
            visitor.chat_id, "after the outage")
        for subscription, received in ((sub_a, on_a_during), (sub_b, on_b_after)):
            event = (await subscription.next())["chatEvents"]
            assert event["message"]["id"] == after["id"] and int(event["eventId"]) > int(received[-1]["eventId"])


async def test_a_client_resuming_with_after_during_the_outage_gets_what_it_missed(running_redis, client):
    deployment, redis = running_redis
    process_a, other = deployment.servers[0], deployment.servers[-1]
    http = GraphQLHttp(client, process_a.graphql_url)
    operator, visitor = await one_chat(http, deployment)
    visitor = Visitor(http, visitor.token, chat_id=visitor.chat_id)

    async with LiveConnection(process_a.ws_url, protocol=TRANSPORT_WS, token=operator.token) as first:
        stream = await first.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
        marker = await operator.send(visitor.chat_id, "marker")
        last_seen = (await until_message(stream, marker["id"]))[-1]["eventId"]

    redis.stop()
    await wait_for_readiness(process_a, client, 503)
    missed = [await visitor.send("while you were away"), await operator.send(visitor.chat_id, "still here")]

    # reconnect (to the other process on postgres) while Redis is still down
    async with LiveConnection(other.ws_url, protocol=TRANSPORT_WS, token=operator.token) as second:
        resumed = await second.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": last_seen})
        replayed = [(await resumed.next())["chatEvents"] for _ in missed]
        assert [e["message"]["id"] for e in replayed] == [m["id"] for m in missed]
        ids = [int(e["eventId"]) for e in replayed]
        assert ids == sorted(set(ids)) and ids[0] > int(last_seen)

        redis.start()
        await wait_for_readiness(other, client, 200)
        live = await operator.send(visitor.chat_id, "back online")
        event = (await resumed.next())["chatEvents"]
        assert event["message"]["id"] == live["id"] and int(event["eventId"]) > ids[-1]
