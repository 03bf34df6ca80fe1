"""What a process remembers of registered operations (openchannels/trusted_documents.py): a hash or
id it looked up is not read from the database again for CACHE_SECONDS, found or not, so an Apollo
client with automatic persisted queries, which sends every request by hash, costs one lookup per
CACHE_SECONDS, not one per request; an operation registered or removed meanwhile is seen after it."""
from __future__ import annotations

import hashlib

import httpx

from infrastructure.settings import Settings
from openchannels.app import create_app
from openchannels.trusted_documents import CACHE_SECONDS, TrustedDocuments
from services.identity.auth import issue_token
from services.identity.persisted_operations import OperationEntry, register_operations, remove_operations
from tests.factories import make_operator

ME = "query Me { me { operator { name } } }"


def _lookups(counter) -> int:
    """The statements that read the registered operations."""
    return sum("persisted_operation" in statement for statement in counter.statements)


async def test_an_apollo_client_sending_by_hash_reads_the_operations_once(db, database_url, platform, count_queries):
    operator, _ = await make_operator()
    headers = {"Authorization": f"Bearer {await issue_token(operator.id)}"}
    document = ME + " # apq"
    apq = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(document.encode()).hexdigest()}}
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0), platform)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            first = await api.post("/graphql", json={"query": document, "extensions": apq}, headers=headers)
            with count_queries() as counter:
                by_hash = [await api.post("/graphql", json={"extensions": apq}, headers=headers) for _ in range(5)]
    assert first.json()["data"]["me"]["operator"]["name"] == operator.name
    assert [answer.json() for answer in by_hash] == [first.json()] * 5
    assert _lookups(counter) == 0  # the first request found it unregistered: remembered


async def test_a_lookup_holds_for_cache_seconds_found_or_not(db, count_queries):
    now = [100.0]
    trusted = TrustedDocuments(clock=lambda: now[0])
    digest = hashlib.sha256(ME.encode()).hexdigest()

    with count_queries() as counter:
        assert await trusted.registered(digest) is None
        assert await trusted.registered(f"sha256:{digest}") is None  # the same id in its other form
    assert _lookups(counter) == 1

    await register_operations([OperationEntry(id=digest, name="Me", operation_type="query", body=ME)])
    now[0] += CACHE_SECONDS - 0.5
    assert await trusted.registered(digest) is None  # not read again yet
    now[0] += 1
    with count_queries() as counter:
        assert await trusted.registered(digest) == ME
        assert await trusted.registered(digest) == ME
    assert _lookups(counter) == 1

    await remove_operations([digest])
    now[0] += CACHE_SECONDS + 0.5
    assert await trusted.registered(digest) is None  # a removal is seen within the same time


async def test_unknown_ids_never_push_registered_operations_out(db, count_queries, monkeypatch):
    monkeypatch.setattr("openchannels.trusted_documents.CACHE_SIZE", 3)
    trusted = TrustedDocuments(clock=lambda: 0.0)
    digest = hashlib.sha256(ME.encode()).hexdigest()
    await register_operations([OperationEntry(id=digest, name="Me", operation_type="query", body=ME)])
    assert await trusted.registered(digest) == ME
    for n in range(10):  # a client (or an attacker) sending hashes nobody registered
        assert await trusted.registered(f"{n:064x}") is None
    with count_queries() as counter:
        assert await trusted.registered(digest) == ME
        for n in range(7, 10):  # the last three unknown ones are remembered as unknown
            assert await trusted.registered(f"{n:064x}") is None
    assert _lookups(counter) == 0
