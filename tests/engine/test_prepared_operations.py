"""Prepared operations (schema/prepared_operations.py, openchannels/prepared_http.py): a JSON POST of a
document the process has run before goes straight to graphql-core, and answers byte for byte as
Strawberry's path does, errors, codes, statuses, headers and metrics included."""
from __future__ import annotations

import httpx
import pytest

from infrastructure.metrics import OPERATIONS
from infrastructure.settings import Settings
from openchannels.app import create_app
from infrastructure.lru import LRU
from schema import build_schema, schema
from schema.prepared_operations import PREPARED_SIZE, PreparedOperations
from services.chats import chats
from services.messaging import messages
from strawberry.relay import to_base64
from services.identity.auth import issue_token
from tests.engine import fast_path_only
from tests.factories import make_open_channel, make_operator, start_chat

SEND = ("mutation Send($chat: ID!, $text: String!) { sendMessage(input: {chatId: $chat, text: $text}) "
        "{ message { id text chat { id status } } userErrors { code message field } } }")
MY_CHATS = ("query Mine($first: Int) { myChats { active { id status } } "
            "conversations(first: $first) { edges { node { id } } } }")
CURSOR = "query { myChats { eventCursor active { id } } }"


@pytest.fixture
def prepared_runs(monkeypatch):
    """The kinds of the requests that took the prepared path (PreparedOperations.execute), the
    schema's prepared operations forgotten first (other tests ran documents on it)."""
    assert schema.prepared is not None
    monkeypatch.setattr(schema.prepared, "_prepared", LRU(PREPARED_SIZE))
    runs: list[str] = []
    execute = PreparedOperations.execute

    async def counted(self, prepared, **kwargs):
        runs.append(prepared.kind)
        return await execute(self, prepared, **kwargs)

    monkeypatch.setattr(PreparedOperations, "execute", counted)
    return runs


async def _setup(database_url, platform, **settings):
    """An app, an operator's headers, and the global id of a chat they answered."""
    app, headers, chat, _ = await _setup_with_viewer(database_url, platform, **settings)
    return app, headers, chat


async def _setup_with_viewer(database_url, platform, **settings):
    operator, me = await make_operator()
    channel = await make_open_channel([operator])
    chat, _, _ = await start_chat(channel)
    await chats.answer_chat(me, chat_id=chat.id)
    token = await issue_token(operator.id)
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0, **settings), platform)
    return app, {"Authorization": f"Bearer {token}"}, to_base64("Chat", chat.id), (me, chat.id)


def _same(first: httpx.Response, second: httpx.Response) -> None:
    assert second.status_code == first.status_code
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.json().keys() == first.json().keys()


@fast_path_only
async def test_a_repeated_mutation_takes_the_prepared_path_and_answers_as_the_first(db, database_url, platform,
                                                                                  prepared_runs):
    app, headers, chat = await _setup(database_url, platform)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            answers = [await api.post("/graphql", json={"query": SEND, "variables": {"chat": chat, "text": f"hi {i}"}},
                                      headers=headers) for i in range(3)]
            history = await api.post("/graphql", headers=headers, json={
                "query": "query($chat: ID!) { chat(id: $chat) { messages(first: 10) { edges { node { text } } } } }",
                "variables": {"chat": chat}})
    assert prepared_runs == ["mutation", "mutation"]  # the first ran Strawberry's steps, which remembered it
    for i, answer in enumerate(answers):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        payload = answer.json()["data"]["sendMessage"]
        assert payload["userErrors"] == []
        assert payload["message"]["text"] == f"hi {i}"
        assert payload["message"]["chat"] == {"id": chat, "status": "ACTIVE"}
    texts = [edge["node"]["text"] for edge in history.json()["data"]["chat"]["messages"]["edges"]]
    assert [f"hi {i}" for i in range(3)] == [text for text in texts if text.startswith("hi ")]


@fast_path_only
async def test_user_errors_variable_errors_and_media_types_are_the_same_on_both_paths(db, database_url, platform,
                                                                                   prepared_runs):
    app, headers, chat = await _setup(database_url, platform)
    strict = {**headers, "Accept": "application/graphql-response+json"}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            async def twice(variables, request_headers):
                body = {"query": SEND, "variables": variables}
                return [await api.post("/graphql", json=body, headers=request_headers) for _ in range(2)]

            empty = await twice({"chat": chat, "text": "   "}, headers)
            wrong_type = await twice({"chat": chat, "text": 5}, strict)
            await api.post("/graphql", json={"query": SEND, "variables": {"chat": chat, "text": "ok"}}, headers=headers)
            missing = await api.post("/graphql", json={"query": SEND, "variables": {"chat": chat}}, headers=strict)
            anonymous = await twice({"chat": chat, "text": "who am I"}, {})
    # the userError of an empty text
    for answer in empty:
        assert answer.status_code == 200
        assert answer.json()["data"]["sendMessage"]["userErrors"][0]["code"] == "INVALID_INPUT"
    _same(*empty)
    # a variable of the wrong type: a request error, 400 without data under graphql-response+json
    _same(*wrong_type)
    assert wrong_type[1].status_code == 400 and "data" not in wrong_type[1].json()
    assert wrong_type[1].json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert missing.status_code == 400  # a variable left out: its own key (another set of variables)
    assert missing.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    # no token: the same refusal both times
    _same(*anonymous)
    assert anonymous[0].json() == anonymous[1].json()
    assert anonymous[1].json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert len(prepared_runs) >= 4


@fast_path_only
async def test_page_sizes_over_the_limits_never_run_prepared(db, database_url, platform, prepared_runs):
    app, headers, _ = await _setup(database_url, platform)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            small = [await api.post("/graphql", json={"query": MY_CHATS, "variables": {"first": 5}}, headers=headers)
                     for _ in range(2)]
            too_many = [await api.post("/graphql", json={"query": MY_CHATS, "variables": {"first": 100_000}},
                                       headers=headers) for _ in range(2)]
    assert [answer.status_code for answer in small] == [200, 200]
    assert small[0].json() == small[1].json()
    assert prepared_runs == ["query"]  # the second small page only
    for answer in too_many:
        assert answer.json()["errors"][0]["extensions"]["code"] in ("QUERY_TOO_COMPLEX", "INVALID_INPUT")
        assert "data" in answer.json() and answer.json()["data"] is None


@fast_path_only
async def test_the_event_cursor_is_read_before_a_prepared_run(db, database_url, platform, prepared_runs):
    app, headers, _, (me, chat_id) = await _setup_with_viewer(database_url, platform)

    async def cursor(api):
        return (await api.post("/graphql", json={"query": CURSOR}, headers=headers)).json()["data"]["myChats"]["eventCursor"]

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            cursors = [await cursor(api), await cursor(api)]
            await messages.send_message(me, chat_id=chat_id, text="an event between two reads")
            cursors.append(await cursor(api))
    assert prepared_runs == ["query", "query"]
    assert cursors[0] == cursors[1] != cursors[2]


@fast_path_only
async def test_operations_are_counted_on_the_prepared_path(db, database_url, platform, prepared_runs):
    app, headers, chat = await _setup(database_url, platform)
    ok = OPERATIONS.labels("Send", "mutation", "ok")
    user_error = OPERATIONS.labels("Send", "mutation", "user_error")
    before = ok._value.get(), user_error._value.get()
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            for text in ("one", "two", "three", " "):
                await api.post("/graphql", json={"query": SEND, "variables": {"chat": chat, "text": text}},
                               headers=headers)
    assert len(prepared_runs) >= 2
    assert (ok._value.get() - before[0], user_error._value.get() - before[1]) == (3, 1)


def test_no_prepared_operations_with_plain_execution_off_or_tracing():
    assert build_schema(plain_execution=True).prepared is not None
    assert build_schema(plain_execution=False).prepared is None
    assert build_schema(tracing=(object,)).prepared is None


@fast_path_only
async def test_a_request_the_prepared_path_does_not_take(db, database_url, platform, prepared_runs):
    """Other content types, `extensions`, a GET, and batches take Strawberry's path every time."""
    app, headers, chat = await _setup(database_url, platform)
    query = "query { myChats { active { id } } }"
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            await api.post("/graphql", json={"query": query}, headers=headers)
            answers = [
                await api.get("/graphql", params={"query": query}, headers=headers),
                await api.post("/graphql", json={"query": query, "extensions": {}}, headers=headers),
                await api.post("/graphql", content=f'{{"query": "{query}"}}',
                               headers={**headers, "Content-Type": "text/plain"}),
                await api.post("/graphql", json=[{"query": query}], headers=headers),
            ]
            prepared = await api.post("/graphql", json={"query": query}, headers=headers)
    assert [answer.status_code for answer in answers] == [200, 200, 400, 400]
    assert prepared_runs == ["query"]
    assert prepared.json() == answers[0].json()


@fast_path_only
async def test_production_variable_errors_have_no_suggestions_on_the_prepared_path(db, database_url, platform):
    app, headers, _ = await _setup(database_url, platform, env="production")
    prepared = app_schema(app).prepared
    runs: list[object] = []
    execute = prepared.execute

    async def counted(operation, **kwargs):
        runs.append(operation)
        return await execute(operation, **kwargs)

    prepared.execute = counted
    query = "query Ordered($o: ConversationOrder) { conversations(orderBy: $o, first: 1) { totalCount } }"
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            await api.post("/graphql", json={"query": query, "variables": {"o": "NEWEST"}}, headers=headers)
            wrong = [await api.post("/graphql", json={"query": query, "variables": {"o": "NEWST"}}, headers=headers)
                     for _ in range(2)]
    assert len(runs) == 2  # both: a string's value is not part of the key (variables are coerced in execution)
    for answer in wrong:
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "INVALID_INPUT"
        assert "Did you mean" not in error["message"] and "NEWEST" not in error["message"]


@fast_path_only
async def test_a_rate_limit_answers_with_retry_after_on_the_prepared_path(db, database_url, platform, prepared_runs):
    app, headers, chat = await _setup(database_url, platform, rate_limit_operator_token_per_minute=2)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            answers = [await api.post("/graphql", json={"query": SEND, "variables": {"chat": chat, "text": f"n{i}"}},
                                      headers=headers) for i in range(3)]
    assert prepared_runs == ["mutation", "mutation"]
    assert [answer.json()["data"]["sendMessage"]["userErrors"] for answer in answers[:2]] == [[], []]
    refused = answers[2]
    assert refused.headers.get("retry-after")
    errors = refused.json().get("errors") or refused.json()["data"]["sendMessage"]["userErrors"]
    assert errors[0].get("code", errors[0].get("extensions", {}).get("code")) == "LIMIT_EXCEEDED"


def app_schema(app):
    """The schema the app's GraphQL view runs."""
    for route in app.routes:
        endpoint = getattr(route, "app", None) or getattr(route, "endpoint", None)
        view = getattr(endpoint, "schema", None)
        if view is not None:
            return view
    raise AssertionError("no GraphQL route")


def test_no_extension_of_a_schema_with_prepared_operations_wraps_resolvers():
    """A prepared run passes graphql-core no middleware: an extension with a `resolve` hook (as
    tracing's) would be skipped, so a schema with one must have no prepared operations."""
    from strawberry.extensions import SchemaExtension
    for production in (False, True):
        built = build_schema(production=production)
        assert built.prepared is not None
        for extension in built.get_extensions():
            assert type(extension).resolve is SchemaExtension.resolve, type(extension)


@fast_path_only
async def test_automatic_persisted_queries_take_the_prepared_path_by_their_hash(db, database_url, platform,
                                                                                prepared_runs):
    import hashlib
    app, headers, _ = await _setup(database_url, platform)
    query = "query Apq { myChats { active { id } } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            first = await api.post("/graphql", json={"query": query, "extensions": apq}, headers=headers)
            by_hash = [await api.post("/graphql", json={"extensions": apq}, headers=headers) for _ in range(2)]
            not_found = await api.post("/graphql", json={"extensions": unknown}, headers=headers)
    assert prepared_runs == ["query", "query"]
    assert [answer.json() for answer in by_hash] == [first.json(), first.json()]
    assert not_found.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
