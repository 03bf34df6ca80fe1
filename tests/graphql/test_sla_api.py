"""The GraphQL mapping of SLA policies (issue #19): admins create and change them, anyone else is
refused with a userError; bad input (negative seconds, an unknown policy) is a userError with a code
that changes nothing; a channel references one policy (null unsets it); Chat.sla shows the due times
and missed targets to operators, never to the visitor."""
from __future__ import annotations

from datetime import timedelta

from models import OpenChannel, OperatorRole, SlaPolicy
from resolvers.ids import to_global_id
from services.automation import scheduler
from tests.factories import make_admin, make_open_channel, make_operator, start_chat
from tests.graphql.helpers import execute

POLICY_FIELDS = "id name firstResponseSeconds nextResponseSeconds resolutionSeconds warnBeforeSeconds"
CREATE = f"""
mutation ($input: SlaPolicyInput!) {{
  createSlaPolicy(input: $input) {{ slaPolicy {{ {POLICY_FIELDS} }} userErrors {{ code field message }} }}
}}"""
UPDATE = f"""
mutation ($input: UpdateSlaPolicyInput!) {{
  updateSlaPolicy(input: $input) {{ slaPolicy {{ {POLICY_FIELDS} }} userErrors {{ code field message }} }}
}}"""
ATTACH = """
mutation ($input: UpdateOpenChannelInput!) {
  updateOpenChannel(input: $input) { openChannel { id slaPolicy { id name } } userErrors { code field message } }
}"""
CHAT_SLA = """query ($id: ID!) { chat(id: $id) { sla {
  policy { name } firstResponseDueAt nextResponseDueAt resolutionDueAt breached } } }"""
VISITOR_SLA = "{ visitorChat { id sla { breached } openChannel { slaPolicy { id } } } }"


async def _policies() -> list[dict]:
    return list(await SlaPolicy.all().order_by("id").values())


async def test_an_admin_creates_changes_and_attaches_a_policy(db):
    _, admin = await make_admin()
    data = await execute(CREATE, admin, input={"name": "  Gold  ", "firstResponseSeconds": 60,
                                                 "resolutionSeconds": 3600, "warnBeforeSeconds": 30})
    created = data["createSlaPolicy"]
    assert created["userErrors"] == []
    gid = created["slaPolicy"]["id"]
    assert created["slaPolicy"] == {"id": gid, "name": "Gold", "firstResponseSeconds": 60, "nextResponseSeconds": None,
                                    "resolutionSeconds": 3600, "warnBeforeSeconds": 30}

    data = await execute(UPDATE, admin, input={"slaPolicyId": gid, "nextResponseSeconds": 120,
                                                 "resolutionSeconds": None})
    assert data["updateSlaPolicy"]["slaPolicy"] == {
        "id": gid, "name": "Gold", "firstResponseSeconds": 60, "nextResponseSeconds": 120,
        "resolutionSeconds": None, "warnBeforeSeconds": 30}

    channel = await make_open_channel()
    channel_gid = to_global_id("OpenChannel", channel.id)
    data = await execute(ATTACH, admin, input={"openChannelId": channel_gid, "slaPolicyId": gid})
    assert data["updateOpenChannel"] == {"userErrors": [], "openChannel": {
        "id": channel_gid, "slaPolicy": {"id": gid, "name": "Gold"}}}
    operator, me = await make_operator()
    assert (await execute("{ slaPolicies { id name } }", me))["slaPolicies"] == [{"id": gid, "name": "Gold"}]
    data = await execute(ATTACH, admin, input={"openChannelId": channel_gid, "slaPolicyId": None})
    assert data["updateOpenChannel"]["openChannel"]["slaPolicy"] is None


async def test_only_admins_define_policies(db):
    _, admin = await make_admin()
    existing = await execute(CREATE, admin, input={"name": "Standard", "firstResponseSeconds": 300})
    gid = existing["createSlaPolicy"]["slaPolicy"]["id"]
    before = await _policies()
    for role in (OperatorRole.OPERATOR, OperatorRole.SUPERVISOR):
        _, caller = await make_operator(role=role)
        data = await execute(CREATE, caller, input={"name": "Mine", "firstResponseSeconds": 1})
        assert data["createSlaPolicy"]["slaPolicy"] is None
        assert [e["code"] for e in data["createSlaPolicy"]["userErrors"]] == ["FORBIDDEN"]
        data = await execute(UPDATE, caller, input={"slaPolicyId": gid, "firstResponseSeconds": 1})
        assert data["updateSlaPolicy"]["slaPolicy"] is None
        assert [e["code"] for e in data["updateSlaPolicy"]["userErrors"]] == ["FORBIDDEN"]
    assert await _policies() == before


async def test_bad_input_is_refused_with_a_code_and_changes_nothing(db):
    _, admin = await make_admin()
    created = await execute(CREATE, admin, input={"name": "Standard", "firstResponseSeconds": 300})
    gid = created["createSlaPolicy"]["slaPolicy"]["id"]
    channel = await make_open_channel()
    channel_gid = to_global_id("OpenChannel", channel.id)
    policies, channels = await _policies(), list(await OpenChannel.all().values())

    for given, field in [({"firstResponseSeconds": -5}, "firstResponseSeconds"),
                         ({"nextResponseSeconds": 0}, "nextResponseSeconds"),
                         ({"resolutionSeconds": -1}, "resolutionSeconds"),
                         ({"warnBeforeSeconds": -30}, "warnBeforeSeconds"),
                         ({"name": "   "}, "name")]:
        data = await execute(CREATE, admin, input={"name": "New", **given})
        assert data["createSlaPolicy"]["slaPolicy"] is None
        assert [(e["code"], e["field"]) for e in data["createSlaPolicy"]["userErrors"]] == [
            ("INVALID_INPUT", ["input", field])], given
        data = await execute(UPDATE, admin, input={"slaPolicyId": gid, "name": "Changed", **given})
        assert [(e["code"], e["field"]) for e in data["updateSlaPolicy"]["userErrors"]] == [
            ("INVALID_INPUT", ["input", field])], given

    unknown = to_global_id("SlaPolicy", 999_999)
    data = await execute(UPDATE, admin, input={"slaPolicyId": unknown, "name": "Changed"})
    assert [(e["code"], e["field"]) for e in data["updateSlaPolicy"]["userErrors"]] == [
        ("NOT_FOUND", ["input", "slaPolicyId"])]
    data = await execute(ATTACH, admin, input={"openChannelId": channel_gid, "slaPolicyId": unknown,
                                                "name": "Renamed"})
    assert data["updateOpenChannel"]["openChannel"] is None
    assert [(e["code"], e["field"]) for e in data["updateOpenChannel"]["userErrors"]] == [
        ("NOT_FOUND", ["input", "slaPolicyId"])]
    data = await execute(ATTACH, admin, input={"openChannelId": channel_gid, "slaPolicyId": channel_gid})
    assert [e["code"] for e in data["updateOpenChannel"]["userErrors"]] == ["INVALID_INPUT"]

    assert await _policies() == policies
    assert list(await OpenChannel.all().values()) == channels


async def test_chat_sla_is_for_operators_not_the_visitor(db, clock):
    operator, me = await make_operator()
    channel = await make_open_channel([operator], answer_timeout_seconds=100_000)
    _, admin = await make_admin()
    created = await execute(CREATE, admin, input={"name": "Fast", "firstResponseSeconds": 60,
                                                 "resolutionSeconds": 600})
    await execute(ATTACH, admin, input={"openChannelId": to_global_id("OpenChannel", channel.id),
                                        "slaPolicyId": created["createSlaPolicy"]["slaPolicy"]["id"]})
    chat, visitor, _ = await start_chat(channel)
    chat_gid = to_global_id("Chat", chat.id)
    clock.advance(60)
    await scheduler.tick()

    data = await execute(CHAT_SLA, me, id=chat_gid)
    assert data["chat"]["sla"] == {
        "policy": {"name": "Fast"}, "firstResponseDueAt": (clock.now).isoformat(), "nextResponseDueAt": None,
        "resolutionDueAt": (clock.now + timedelta(seconds=540)).isoformat(), "breached": ["FIRST_RESPONSE"]}
    data = await execute(VISITOR_SLA, visitor)
    assert data["visitorChat"]["id"] == chat_gid
    assert data["visitorChat"]["sla"] is None
    assert data["visitorChat"]["openChannel"]["slaPolicy"] is None
    _, outsider = await make_operator()  # not in the channel's queue: no chat, no service levels
    assert (await execute(CHAT_SLA, outsider, id=chat_gid))["chat"] is None
