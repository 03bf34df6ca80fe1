"""Passwords, tokens and who a bearer token makes the caller."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from models import ApiToken, Operator, OperatorRole, VisitorSession
from infrastructure import token_cache
from services.identity import auth
from services.common.errors import InvalidInput, Unauthenticated
from services.chats.operators import MIN_PASSWORD_LENGTH
from services.identity.viewer import ANONYMOUS, Viewer
from tests.factories import make_open_channel, make_operator, start_chat

PASSWORD = "correct horse battery"


async def test_login_with_the_right_password_issues_a_working_token(db):
    operator, _ = await make_operator("Ann", email="ann@example.test", role=OperatorRole.SUPERVISOR, password=PASSWORD)

    token, who = await auth.login(email="ann@example.test", password=PASSWORD, ttl_seconds=3600)

    assert who.id == operator.id
    assert token.startswith(auth.OPERATOR_TOKEN_PREFIX)
    assert await auth.authenticate(f"Bearer {token}") == Viewer(operator_id=operator.id, role=OperatorRole.SUPERVISOR)
    row = await ApiToken.get(operator_id=operator.id)
    expected = datetime.now(timezone.utc) + timedelta(seconds=3600)
    assert abs(row.expires_at - expected) < timedelta(seconds=30)


async def test_login_ignores_the_case_and_spaces_of_the_email(db):
    operator, _ = await make_operator(email="Mixed.Case@Example.test", password=PASSWORD)
    _, who = await auth.login(email="  MIXED.case@example.TEST ", password=PASSWORD, ttl_seconds=60)
    assert who.id == operator.id


@pytest.mark.parametrize(
    "email, password",
    [
        ("ann@example.test", "wrong password"),
        ("ann@example.test", ""),
        ("ann@example.test", PASSWORD.upper()),
        ("nobody@example.test", PASSWORD),
        ("", ""),
    ],
    ids=["wrong-password", "empty-password", "wrong-case-password", "unknown-email", "nothing"],
)
async def test_login_refuses_wrong_credentials_the_same_way(db, email, password):
    await make_operator(email="ann@example.test", password=PASSWORD)

    with pytest.raises(Unauthenticated) as err:
        await auth.login(email=email, password=password, ttl_seconds=60)

    # the message does not tell an unknown e-mail from a wrong password
    assert err.value.message == "Wrong e-mail or password."
    assert err.value.code == "UNAUTHENTICATED"
    assert await ApiToken.all().count() == 0


async def test_an_operator_without_a_password_cannot_log_in(db):
    await make_operator(email="token-only@example.test")
    with pytest.raises(Unauthenticated):
        await auth.login(email="token-only@example.test", password="", ttl_seconds=60)
    with pytest.raises(Unauthenticated):
        await auth.login(email="token-only@example.test", password="anything at all", ttl_seconds=60)


async def test_the_password_is_stored_only_as_a_salted_hash(db):
    first, _ = await make_operator(password=PASSWORD)
    second, _ = await make_operator(password=PASSWORD)

    rows = await Operator.filter(id__in=[first.id, second.id]).values_list("password_hash", flat=True)

    assert all(r.startswith("scrypt$") and PASSWORD not in r for r in rows)
    assert rows[0] != rows[1]  # salted
    assert auth.verify_password(PASSWORD, rows[0]) and not auth.verify_password(PASSWORD + "!", rows[0])


async def test_a_short_password_is_refused(db):
    with pytest.raises(InvalidInput):
        await make_operator(password="x" * (MIN_PASSWORD_LENGTH - 1))
    assert await Operator.all().count() == 0


async def test_the_raw_token_is_stored_nowhere(db):
    operator, _ = await make_operator(password=PASSWORD)
    login_token, _ = await auth.login(email=operator.email, password=PASSWORD, ttl_seconds=60)
    cli_token = await auth.issue_token(operator.id)

    rows = await ApiToken.all().values()

    assert len(rows) == 2
    stored = " ".join(str(value) for row in rows for value in row.values())
    for token in (login_token, cli_token):
        assert token not in stored
        assert token[len(auth.OPERATOR_TOKEN_PREFIX):] not in stored
    assert {row["token_hash"] for row in rows} == {
        hashlib.sha256(t.encode()).hexdigest() for t in (login_token, cli_token)
    }


async def test_a_visitor_token_is_stored_hashed_too_and_reaches_its_channel(db):
    channel = await make_open_channel([])
    _, visitor, token = await start_chat(channel, text=None)

    session = await VisitorSession.get(client_id=visitor.client_id)

    assert token.startswith("ocv_")
    assert token not in " ".join(str(v) for v in (await VisitorSession.all().values())[0].values())
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert visitor == Viewer(client_id=session.client_id, visitor_channel_id=channel.id)


async def test_an_expired_token_is_refused(db):
    operator, _ = await make_operator()
    token = await auth.issue_token(operator.id, ttl_seconds=3600)
    assert (await auth.authenticate(f"Bearer {token}")).operator_id == operator.id

    await ApiToken.filter(operator_id=operator.id).update(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))

    with pytest.raises(Unauthenticated):
        await auth.authenticate(f"Bearer {token}")


async def test_a_trusted_token_is_read_again_after_the_cache_time(db, monkeypatch):
    operator, _ = await make_operator(role=OperatorRole.SUPERVISOR)
    token = await auth.issue_token(operator.id)
    trusted = auth.ValidTokens(10)  # as a server with TOKEN_CACHE_SECONDS=10 (the platform's cache)
    now = [1000.0]
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: now[0])
    assert (await auth.authenticate(f"Bearer {token}", trusted=trusted)).role == OperatorRole.SUPERVISOR

    await Operator.filter(id=operator.id).update(role=OperatorRole.OPERATOR)  # changed by hand
    now[0] += 9
    assert (await auth.authenticate(f"Bearer {token}", trusted=trusted)).role == OperatorRole.SUPERVISOR  # still trusted
    assert (await auth.authenticate(f"Bearer {token}", fresh=True, trusted=trusted)).role == OperatorRole.OPERATOR  # a WebSocket's read
    now[0] += 11
    assert (await auth.authenticate(f"Bearer {token}", trusted=trusted)).role == OperatorRole.OPERATOR

    await ApiToken.filter(operator_id=operator.id).delete()  # revoked by hand
    assert (await auth.authenticate(f"Bearer {token}", trusted=trusted)).operator_id == operator.id
    now[0] += 11
    with pytest.raises(Unauthenticated):
        await auth.authenticate(f"Bearer {token}", trusted=trusted)


async def test_a_trusted_token_still_expires_on_time(db):
    operator, _ = await make_operator()
    token = await auth.issue_token(operator.id, ttl_seconds=3600)
    trusted = auth.ValidTokens(3600)
    assert (await auth.authenticate(f"Bearer {token}", trusted=trusted)).operator_id == operator.id
    trusted_viewer, expires_at = trusted.get(auth.hash_token(token))
    trusted.put(auth.hash_token(token), (trusted_viewer, datetime.now(timezone.utc)))  # its expiry came

    with pytest.raises(Unauthenticated):
        await auth.authenticate(f"Bearer {token}", trusted=trusted)


async def test_unknown_tokens_are_not_kept(db):
    trusted = auth.ValidTokens(10)  # as a server with TOKEN_CACHE_SECONDS=10 (the platform's cache)
    operator, _ = await make_operator()
    token = auth.new_token(auth.OPERATOR_TOKEN_PREFIX)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(f"Bearer {token}", trusted=trusted)
    assert trusted.get(auth.hash_token(token)) is None
    await ApiToken.create(operator_id=operator.id, token_hash=auth.hash_token(token))  # issued afterwards

    assert (await auth.authenticate(f"Bearer {token}", trusted=trusted)).operator_id == operator.id


async def test_a_token_without_expiry_keeps_working(db):
    operator, _ = await make_operator()
    token = await auth.issue_token(operator.id)
    assert (await ApiToken.get(operator_id=operator.id)).expires_at is None
    assert (await auth.authenticate(f"Bearer {token}")).operator_id == operator.id


@pytest.mark.parametrize(
    "header",
    ["Bearer oc_not-a-real-token", "Bearer ocv_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz",
     "oc_token-without-scheme"],
    ids=["unknown-operator-token", "unknown-visitor-token", "empty-bearer", "basic-scheme", "no-scheme"],
)
async def test_a_bad_authorization_header_is_unauthenticated(db, header):
    await make_operator()
    with pytest.raises(Unauthenticated):
        await auth.authenticate(header)


@pytest.mark.parametrize("header", [None, ""])
async def test_no_authorization_is_the_anonymous_viewer(db, header):
    viewer = await auth.authenticate(header)
    assert viewer == ANONYMOUS and viewer.is_anonymous


async def test_the_bearer_scheme_is_case_insensitive(db):
    operator, _ = await make_operator()
    token = await auth.issue_token(operator.id)
    assert (await auth.authenticate(f"bearer   {token}  ")).operator_id == operator.id
