"""B3's hand-written endpoint (bench/baseline.py, POST /send-message): what B3's p99 is held against
must do the writes the server does for a message, and refuse what the server refuses, or it would
be a floor of something else."""
from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
import redis.asyncio as redis

from bench import baseline
from resolvers.ids import to_global_id
from tests.bench.seeded import seeded_database
from tests.resources import TEST_REDIS_URL


async def test_the_endpoint_writes_a_participants_message_and_its_event_and_refuses_the_rest(monkeypatch) -> None:
    async with seeded_database("bench_send") as (url, db):
        # an answered chat the caller takes part in, with their read marker (as B3's writers' chats)
        mine = await db.fetchrow("SELECT p.chat_id, p.operator_id, c.open_channel_id FROM chat_participant p "
                                 "JOIN chat c ON c.id = p.chat_id JOIN read_marker r ON r.chat_id = p.chat_id "
                                 "AND r.operator_id = p.operator_id WHERE c.status = 'ACTIVE' ORDER BY p.chat_id LIMIT 1")
        me = mine["operator_id"]
        other = await db.fetchval("SELECT id FROM chat WHERE id NOT IN "
                                  "(SELECT chat_id FROM chat_participant WHERE operator_id = $1) LIMIT 1", me)
        token = "bench-send-token"
        await db.execute("INSERT INTO api_token (token_hash, created_at, operator_id) VALUES ($1, now(), $2)",
                         hashlib.sha256(token.encode()).hexdigest(), me)
        counts = "SELECT (SELECT COUNT(*) FROM message), (SELECT COUNT(*) FROM event)"
        before = tuple(await db.fetchrow(counts))
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("REDIS_URL", TEST_REDIS_URL)
        app = baseline.create_app()
        async with app.router.lifespan_context(app):
            listener = redis.Redis.from_url(TEST_REDIS_URL)
            pubsub = listener.pubsub()
            await pubsub.subscribe(app.state.channel)
            await pubsub.get_message(timeout=1)  # the subscription's confirmation
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                def send(chat: object, bearer: str = token, scheme: str = "Bearer") -> object:
                    return client.post("/send-message", json={"chatId": chat, "text": "hello"},
                                       headers={"Authorization": f"{scheme} {bearer}"})

                answer = (await send(to_global_id("Chat", mine["chat_id"]))).json()["data"]["sendMessage"]
                assert answer["userErrors"] == []
                message_id = int(await db.fetchval("SELECT max(id) FROM message"))
                assert answer["message"]["id"] == to_global_id("Message", message_id)
                event = await db.fetchrow("SELECT * FROM event ORDER BY id DESC LIMIT 1")
                assert (event["kind"], event["chat_id"], event["message_id"], event["open_channel_id"]) == \
                    ("MESSAGE_ADDED", mine["chat_id"], message_id, mine["open_channel_id"])
                published = await pubsub.get_message(timeout=5)
                assert json.loads(published["data"])["id"] == event["id"]
                after_one = tuple(await db.fetchrow(counts))
                assert after_one == (before[0] + 1, before[1] + 1)
                # the server's writes for the message: the chat's activity and auto-close time moved, the
                # writer's read marker on their own message
                written_at = await db.fetchval("SELECT created_at FROM message WHERE id = $1", message_id)
                chat = await db.fetchrow("SELECT last_activity_at, auto_close_at FROM chat WHERE id = $1",
                                         mine["chat_id"])
                assert chat["last_activity_at"] == written_at and chat["auto_close_at"] > written_at
                assert await db.fetchval("SELECT last_read_message_id FROM read_marker WHERE chat_id = $1 "
                                         "AND operator_id = $2", mine["chat_id"], me) == message_id

                # the caller's roles are decided after the chat's lock, as the server decides them: a
                # message sent while another transaction holds the chat and takes the caller out of it
                # waits for that transaction, then is refused
                holder = db.transaction()
                await holder.start()
                await db.execute("SELECT 1 FROM chat WHERE id = $1 FOR UPDATE", mine["chat_id"])
                await db.execute("DELETE FROM chat_participant WHERE chat_id = $1 AND operator_id = $2",
                                 mine["chat_id"], me)
                waiting = asyncio.ensure_future(send(to_global_id("Chat", mine["chat_id"])))
                await asyncio.sleep(0.5)
                assert not waiting.done()
                await holder.commit()
                errors = (await waiting).json()["data"]["sendMessage"]["userErrors"]
                assert [e["code"] for e in errors] == ["NOT_FOUND"]
                assert tuple(await db.fetchrow(counts)) == after_one

                # a chat the caller takes no part in, an id of another type, a token nobody issued
                for refused in (to_global_id("Chat", other), to_global_id("Message", message_id), "nonsense"):
                    errors = (await send(refused)).json()["data"]["sendMessage"]["userErrors"]
                    assert [e["code"] for e in errors] == ["NOT_FOUND"], refused
                denied = (await send(to_global_id("Chat", mine["chat_id"]), bearer="unknown")).json()
                assert denied["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                # the token it trusts now, under another scheme
                denied = (await send(to_global_id("Chat", mine["chat_id"]), scheme="Basic")).json()
                assert denied["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                assert tuple(await db.fetchrow(counts)) == after_one  # nothing written by a refusal
            await pubsub.aclose()
            await listener.aclose()
