"""The HTTP exports: the same rows as the `conversations` query for the same viewer and filter,
CSV escaping and formula injection, statuses and JSON errors, the statistics, the client export
(admins), and memory that stays flat as the export grows (streamed in keyset pages)."""
from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import datetime, timedelta, timezone

import httpx

from models import Chat, ChatKind, ChatStatus, Client, Operator, OperatorRole
from openchannels.app import create_app
from openchannels.exports import global_id
from resolvers.ids import to_global_id
from services.chats import chats
from services.contact_center import exports
from services.contact_center.conversations import ConversationFilter, conversations
from services.identity import auth
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

LIST = """query($filter: ConversationFilter, $after: String) {
  conversations(filter: $filter, first: 7, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { id title } } } }"""


def _client(platform) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(platform=platform)), base_url="http://oc.test")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def _api_ids(viewer, filter: dict) -> list[str]:
    ids, after = [], None
    while True:
        data = (await execute(LIST, viewer, filter=filter, after=after))["conversations"]
        ids += [e["node"]["id"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return ids
        after = data["pageInfo"]["endCursor"]


async def test_the_export_has_the_rows_of_the_conversations_query_for_each_viewer(db, platform):
    admin_op, admin = await make_admin()
    member, member_viewer = await make_operator()
    supervisor, supervisor_viewer = await make_operator(role=OperatorRole.SUPERVISOR)
    mine = await make_open_channel([member], admin=admin)
    theirs = await make_open_channel([], admin=admin)
    for i in range(12):
        await start_chat(mine if i % 3 else theirs, f"question {i}", name=f"Client {i}")
    answered = await Chat.filter(open_channel_id=mine.id).order_by("id").first()
    await chats.answer_chat(member_viewer, chat_id=answered.id)
    async with _client(platform) as client:
        for operator, viewer in ((member, member_viewer), (supervisor, supervisor_viewer)):
            token = await auth.issue_token(operator.id)
            for params, filter in (({}, {}), ({"statuses": "QUEUED"}, {"statuses": ["QUEUED"]}),
                                   ({"statuses": ["QUEUED", "ACTIVE"], "openChannelIds": to_global_id("OpenChannel", mine.id)},
                                    {"statuses": ["QUEUED", "ACTIVE"], "openChannelIds": [to_global_id("OpenChannel", mine.id)]})):
                response = await client.get("/exports/conversations.csv", params=params, headers=_bearer(token))
                assert response.status_code == 200, response.text
                assert response.headers["content-type"] == "text/csv; charset=utf-8"
                assert [row["id"] for row in _rows(response.text)] == await _api_ids(viewer, filter)
        member_rows = _rows((await client.get("/exports/conversations.csv",
                                              headers=_bearer(await auth.issue_token(member.id)))).text)
        supervisor_rows = _rows((await client.get("/exports/conversations.csv",
                                                  headers=_bearer(await auth.issue_token(supervisor.id)))).text)
    assert len(member_rows) == 8 and len(supervisor_rows) == 12  # the operator: their queue's chats only
    row = next(r for r in member_rows if r["id"] == to_global_id("Chat", answered.id))
    assert row["status"] == "ACTIVE" and row["operator"] == member.name and row["open_channel"] == mine.name


async def test_cells_are_escaped_and_formulas_neutralised(db, platform):
    _, admin = await make_admin()
    channel = await make_open_channel([], admin=admin)
    titles = ['Smith, "Bob"\nsecond line', "=HYPERLINK(\"http://evil\")", "+1 555", "-2", "@SUM(A1)", "plain"]
    for title in titles:
        chat, _, _ = await start_chat(channel, "hi", name="x")
        await Chat.filter(id=chat.id).update(title=title)
    admin_op = await Operator.get(id=admin.operator_id)
    async with _client(platform) as client:
        response = await client.get("/exports/conversations.csv", params={"orderBy": "OLDEST"},
                                    headers=_bearer(await auth.issue_token(admin_op.id)))
    assert [r["title"] for r in _rows(response.text)] == [
        'Smith, "Bob"\nsecond line', "'=HYPERLINK(\"http://evil\")", "'+1 555", "'-2", "'@SUM(A1)", "plain"]
    assert '"Smith, ""Bob""\nsecond line"' in response.text


async def test_errors_are_clear_json_with_a_status(db, platform):
    admin_op, admin = await make_admin()
    operator, _ = await make_operator()
    channel = await make_open_channel([operator], admin=admin)
    chat, _, visitor_token = await start_chat(channel, "hi")
    token = await auth.issue_token(operator.id)
    async with _client(platform) as client:
        cases = [
            ("/exports/conversations.csv", {}, {}, 401, "UNAUTHENTICATED"),
            ("/exports/conversations.csv", {}, _bearer("oc_wrong"), 401, "UNAUTHENTICATED"),
            ("/exports/conversations.csv", {}, _bearer(visitor_token), 403, "FORBIDDEN"),
            ("/exports/conversations.csv", {"statuses": "NOPE"}, _bearer(token), 400, "INVALID_INPUT"),
            ("/exports/conversations.csv", {"from": "yesterday"}, _bearer(token), 400, "INVALID_INPUT"),
            ("/exports/conversations.csv", {"pinned": "yes"}, _bearer(token), 400, "INVALID_INPUT"),
            ("/exports/conversations.csv", {"operatorIds": "42"}, _bearer(token), 400, "INVALID_INPUT"),
            ("/exports/conversations.csv", {"status": "QUEUED"}, _bearer(token), 400, "INVALID_INPUT"),
            ("/exports/conversations.csv", {"orderBy": "RANDOM"}, _bearer(token), 400, "INVALID_INPUT"),
            ("/exports/statistics.csv", {}, _bearer(token), 400, "INVALID_INPUT"),
            ("/exports/statistics.csv", {"from": "2030-01-02", "to": "2030-01-01"}, _bearer(token), 400, "INVALID_INPUT"),
            ("/exports/statistics.csv", {"from": "2030-01-01", "to": "2030-01-02"}, {}, 401, "UNAUTHENTICATED"),
            (f"/exports/clients/{to_global_id('Client', chat.client_id)}.json", {}, _bearer(token), 403, "FORBIDDEN"),
            (f"/exports/clients/{to_global_id('Client', 99999)}.json", {},
             _bearer(await auth.issue_token(admin_op.id)), 404, "NOT_FOUND"),
        ]
        for path, params, headers, status, code in cases:
            response = await client.get(path, params=params, headers=headers)
            assert (response.status_code, response.json()["error"]["code"]) == (status, code), (path, params)
        bad = (await client.get("/exports/conversations.csv", params={"statuses": "NOPE"}, headers=_bearer(token))).json()
        assert bad["error"]["field"] == ["statuses"]


async def test_statistics_csv_has_the_figures_of_the_statistics(db, platform):
    admin_op, admin = await make_admin()
    operator, op = await make_operator()
    channel = await make_open_channel([operator], admin=admin)
    for i in range(3):
        chat, _, _ = await start_chat(channel, "hi", name=f"c{i}")
    await chats.answer_chat(op, chat_id=chat.id)
    now = datetime.now(timezone.utc)
    params = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    async with _client(platform) as client:
        everything = _rows((await client.get("/exports/statistics.csv", params=params,
                                             headers=_bearer(await auth.issue_token(admin_op.id)))).text)
        own = _rows((await client.get("/exports/statistics.csv", params=params,
                                      headers=_bearer(await auth.issue_token(operator.id)))).text)
    total = everything[0]
    assert (total["group"], total["conversations"], total["queued"], total["active"]) == ("total", "3", "2", "1")
    assert [(r["group"], r["key"], r["conversations"]) for r in everything if r["group"] == "operator"] == [
        ("operator", to_global_id("Operator", operator.id), "1")]
    assert own[0]["conversations"] == "1"  # an operator: their own conversations only


async def test_the_client_export_over_http_for_admins(db, platform):
    admin_op, admin = await make_admin()
    channel = await make_open_channel([], admin=admin)
    chat, _, _ = await start_chat(channel, "my words, exported", name="Ada Export")
    async with _client(platform) as client:
        response = await client.get(f"/exports/clients/{to_global_id('Client', chat.client_id)}.json",
                                    headers=_bearer(await auth.issue_token(admin_op.id)))
    assert response.status_code == 200
    body = response.json()
    assert body["client"]["name"] == "Ada Export"
    assert [m["text"] for m in body["messages"]] == ["my words, exported"]


async def _bulk_chats(channel_id: int, count: int) -> None:
    client = await Client.create(name="Bulk client")
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    await Chat.bulk_create([Chat(kind=ChatKind.CUSTOMER, title=f"bulk {i}", status=ChatStatus.CLOSED,
                                 open_channel_id=channel_id, client_id=client.id,
                                 created_at=start + timedelta(seconds=i)) for i in range(count)], batch_size=500)


async def _peak_while_exporting(viewer) -> tuple[int, int]:
    """(rows, peak bytes allocated while the export is consumed)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        rows = 0
        async for chunk in await exports.conversations_csv(viewer, id_of=global_id):
            rows += chunk.count("\r\n")
        return rows - 1, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_memory_stays_flat_as_the_export_grows(db):
    _, admin = await make_admin()
    channel = await make_open_channel([], admin=admin)
    await _bulk_chats(channel.id, 1000)
    rows_small, peak_small = await _peak_while_exporting(admin)
    await _bulk_chats(channel.id, 4000)
    rows_large, peak_large = await _peak_while_exporting(admin)
    assert (rows_small, rows_large) == (1000, 5000)
    print(f"\nexport peak memory: {peak_small / 1024:.0f} KiB at {rows_small} rows, "
          f"{peak_large / 1024:.0f} KiB at {rows_large} rows")
    # one page at a time: five times the rows, (nearly) the same peak; a buffered export would be ~5x
    assert peak_large < peak_small * 1.5
    page = await conversations(admin, filter=ConversationFilter(), first=1)
    assert page.rows  # the query the export pages through
