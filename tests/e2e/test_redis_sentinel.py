"""Redis behind Sentinel, and a failover in the middle of a burst of messages.

The servers know Redis only through REDIS_SENTINELS and REDIS_SENTINEL_MASTER (their REDIS_URL
names the master that is killed: only its options may count). The master dies while messages
are being sent through every process; the Sentinel promotes the replica; every process's
broker follows it (readiness is back to 200) and every open subscription has received every
message exactly once, in order, without reconnecting: those whose publish failed or whose
subscription was down are brought from the database by the broker's re-reads (EVENT_CATCHUP_SECONDS
is 0, so nothing periodic helps). One process on sqlite, two on postgres.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from tests.e2e.actors import CHAT_EVENTS, GraphQLHttp, Operator, Visitor
from tests.e2e.live import TRANSPORT_WS, LiveConnection
from tests.e2e.outages import wait_for_readiness
from tests.e2e.redis_topology import SentinelTopology
from tests.e2e.server import Deployment, prepare
from tests.e2e.test_redis_outage import one_chat, until_message

#: messages each sender has sent when the master is killed
BEFORE_THE_KILL = 5
#: a sender gives up after this many messages (the failover takes a few seconds)
MOST_MESSAGES = 300


@pytest_asyncio.fixture(scope="module", params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
async def sentinel_deployment(request, tmp_path_factory) -> AsyncIterator[tuple[Deployment, SentinelTopology]]:
    workdir = tmp_path_factory.mktemp(f"redis-sentinel-{request.param}")
    topology = SentinelTopology(workdir)
    try:
        await topology.start()
        deployment = await prepare(request.param, workdir, redis_url=topology.master.url)
        try:
            deployment.extra_env.update(REDIS_SENTINELS=topology.sentinels,
                                        REDIS_SENTINEL_MASTER=SentinelTopology.MASTER_NAME,
                                        EVENT_CATCHUP_SECONDS="0")
            deployment.stop_server(deployment.server)  # started before extra_env was set
            await deployment.start_server()
            if request.param == "postgres":
                await deployment.start_server()
            yield deployment, topology
        finally:
            await deployment.close()
    finally:
        topology.stop()


async def test_a_failover_mid_burst_loses_no_event_on_any_subscription(sentinel_deployment):
    deployment, topology = sentinel_deployment
    assert await topology.master_port() == topology.master.port
    async with httpx.AsyncClient(timeout=httpx.Timeout(15)) as client:
        process_a, process_b = deployment.servers[0], deployment.servers[-1]  # one process on sqlite
        operator, visitor = await one_chat(GraphQLHttp(client, process_a.graphql_url), deployment)
        operator_on_a = Operator(GraphQLHttp(client, process_a.graphql_url), operator.token)
        visitor_on_b = Visitor(GraphQLHttp(client, process_b.graphql_url), visitor.token, chat_id=visitor.chat_id)

        async with LiveConnection(process_a.ws_url, protocol=TRANSPORT_WS, token=operator.token) as on_a, \
                LiveConnection(process_b.ws_url, protocol=TRANSPORT_WS, token=operator.token) as on_b:
            subscriptions = [await on.subscribe(CHAT_EVENTS, {"chatId": visitor.chat_id, "after": "0"})
                             for on in (on_a, on_b)]
            sent: dict[str, list[str]] = {"operator": [], "visitor": []}
            both_sent_some = asyncio.Event()
            failed_over = asyncio.Event()

            async def keep_sending(who: str, send) -> None:
                while not failed_over.is_set() and len(sent[who]) < MOST_MESSAGES:
                    sent[who].append((await send(f"{who} {len(sent[who])}"))["id"])
                    if all(len(ids) >= BEFORE_THE_KILL for ids in sent.values()):
                        both_sent_some.set()
                    await asyncio.sleep(0.02)

            senders = asyncio.gather(
                keep_sending("operator", lambda text: operator_on_a.send(visitor.chat_id, text)),
                keep_sending("visitor", visitor_on_b.send))
            try:
                await asyncio.wait_for(both_sent_some.wait(), 30)
                topology.master.stop()  # killed mid-burst
                await topology.until_replica_promoted()
                for server in deployment.servers:  # every broker subscribed to the new master
                    assert await wait_for_readiness(server, client, 200, timeout=30) == \
                        {"status": "ok", "database": "ok", "broker": "ok"}
            finally:
                failed_over.set()
                await senders
            during = {who: len(ids) for who, ids in sent.items()}
            assert all(count > BEFORE_THE_KILL for count in during.values()), during  # sent on through the failover
            assert any("could not publish" in server.log() for server in deployment.servers)

            # after the failover: through the new master, from one process to the other
            last = await operator_on_a.send(visitor.chat_id, "after the failover")
            for subscription in subscriptions:
                received = await until_message(subscription, last["id"])
                messages = [e["message"]["id"] for e in received if e["message"]]
                for ids in sent.values():  # each sender's messages, each once, in the order sent
                    assert [m for m in messages if m in ids] == ids
                assert len(messages) == len(set(messages))
                event_ids = [int(e["eventId"]) for e in received]
                assert event_ids == sorted(set(event_ids))
                assert all(kind == "next" for kind, _ in subscription.inbox._queue)  # nothing else pending

