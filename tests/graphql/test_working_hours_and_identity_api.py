"""The GraphQL mapping of issue #19: workingHours, isOpenNow, afterHoursMessage and language on
updateOpenChannel and OpenChannel; rotateIdentitySecret; externalId/identityHash on startVisitorChat;
finishVisitorChat. Errors are userErrors with a code and the input field."""
from __future__ import annotations

import hashlib
import hmac

from models import OpenChannel
from resolvers.ids import to_global_id
from services.identity import auth
from tests.factories import make_admin, make_open_channel, make_operator
from tests.graphql.helpers import execute

UPDATE = """
mutation ($input: UpdateOpenChannelInput!) {
  updateOpenChannel(input: $input) {
    openChannel { id language afterHoursMessage isOpenNow
                  workingHours { timeZone holidays periods { weekday opens closes } } }
    userErrors { code field message }
  }
}"""
ROTATE = "mutation ($id: ID!) { rotateIdentitySecret(input: {openChannelId: $id}) { secret userErrors { code } } }"
START = """
mutation ($input: StartVisitorChatInput!) {
  startVisitorChat(input: $input) { visitorToken chat { id client { id externalId } } userErrors { code field message } }
}"""
FINISH = "mutation { finishVisitorChat { chat { id status } userErrors { code message } } }"
NIGHT_SHIFT = {"timeZone": "America/Sao_Paulo", "holidays": ["2030-12-25"],
               "periods": [{"weekday": "MONDAY", "opens": "22:00", "closes": "24:00"},
                           {"weekday": "TUESDAY", "opens": "00:00", "closes": "06:00"}]}


async def test_an_admin_sets_working_hours_language_and_the_after_hours_text(db, clock):
    channel = await make_open_channel()
    _, admin = await make_admin()
    gid = to_global_id("OpenChannel", channel.id)
    data = await execute(UPDATE, admin, input={"openChannelId": gid, "workingHours": NIGHT_SHIFT, "language": "pt-BR",
                                               "afterHoursMessage": "Voltamos às 22h."})
    assert data["updateOpenChannel"] == {"userErrors": [], "openChannel": {
        "id": gid, "language": "pt-BR", "afterHoursMessage": "Voltamos às 22h.",
        "isOpenNow": False,  # Monday 2029-12-31 21:00 in Sao Paulo
        "workingHours": {"timeZone": "America/Sao_Paulo", "holidays": ["2030-12-25"], "periods": [
            {"weekday": "MONDAY", "opens": "22:00", "closes": "24:00"},
            {"weekday": "TUESDAY", "opens": "00:00", "closes": "06:00"}]}}}
    clock.advance(3600)  # 22:00 in Sao Paulo
    query = "query ($id: ID!) { node(id: $id) { ... on OpenChannel { isOpenNow } } }"
    assert (await execute(query, admin, id=gid))["node"] == {"isOpenNow": True}

    cleared = await execute(UPDATE, admin, input={"openChannelId": gid, "workingHours": None})
    assert cleared["updateOpenChannel"]["openChannel"]["workingHours"] is None
    assert cleared["updateOpenChannel"]["openChannel"]["isOpenNow"] is True


async def test_a_period_across_midnight_is_a_user_error_and_changes_nothing(db):
    channel = await make_open_channel()
    _, admin = await make_admin()
    hours = {"timeZone": "Europe/Madrid", "periods": [{"weekday": "FRIDAY", "opens": "22:00", "closes": "02:00"}]}
    data = await execute(UPDATE, admin, input={"openChannelId": to_global_id("OpenChannel", channel.id),
                                               "workingHours": hours, "language": "es"})
    payload = data["updateOpenChannel"]
    assert payload["openChannel"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "workingHours", "periods", "0", "closes"])
    assert "22:00-24:00 on FRIDAY and 00:00-02:00 on SATURDAY" in error["message"]
    stored = await OpenChannel.get(id=channel.id)
    assert (stored.working_hours, stored.language) == (None, "en")


async def test_an_operator_may_not_set_working_hours(db):
    channel = await make_open_channel()
    _, operator = await make_operator()
    data = await execute(UPDATE, operator, input={"openChannelId": to_global_id("OpenChannel", channel.id),
                                                  "workingHours": NIGHT_SHIFT})
    assert [e["code"] for e in data["updateOpenChannel"]["userErrors"]] == ["FORBIDDEN"]


async def test_identity_over_graphql_and_the_visitors_finish(db):
    operator, operator_viewer = await make_operator()
    channel = await make_open_channel([operator])
    gid = to_global_id("OpenChannel", channel.id)
    _, admin = await make_admin()
    refused = await execute(ROTATE, operator_viewer, id=gid)
    assert refused["rotateIdentitySecret"] == {"secret": None, "userErrors": [{"code": "FORBIDDEN"}]}
    secret = (await execute(ROTATE, admin, id=gid))["rotateIdentitySecret"]["secret"]
    signed = hmac.new(secret.encode(), b"crm-1001", hashlib.sha256).hexdigest()

    first = (await execute(START, input={"openChannelId": gid, "text": "Hi", "externalId": "crm-1001",
                                         "identityHash": signed}))["startVisitorChat"]
    assert first["userErrors"] == [] and first["chat"]["client"]["externalId"] == "crm-1001"
    visitor = await auth.authenticate(f"Bearer {first['visitorToken']}")
    finished = await execute(FINISH, visitor)
    assert finished["finishVisitorChat"] == {"chat": {"id": first["chat"]["id"], "status": "CLOSED"},
                                             "userErrors": []}
    again = await execute(FINISH, visitor)
    assert again["finishVisitorChat"]["userErrors"][0]["code"] == "INVALID_STATE"

    second = (await execute(START, input={"openChannelId": gid, "text": "Me again", "externalId": "crm-1001",
                                          "identityHash": signed}))["startVisitorChat"]
    assert second["chat"]["client"]["id"] == first["chat"]["client"]["id"]
    wrong = (await execute(START, input={"openChannelId": gid, "externalId": "crm-1001",
                                         "identityHash": "f" * 64}))["startVisitorChat"]
    assert wrong["visitorToken"] is None
    assert [(e["code"], e["field"]) for e in wrong["userErrors"]] == [("INVALID_INPUT", ["input", "identityHash"])]
