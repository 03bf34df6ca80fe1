"""Revoking operator tokens (`logout`, an admin's `revokeOperatorTokens`), what this process
stops trusting at once, and the database read that the re-check of live WebSockets relies on."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from models import ApiToken, Operator, OperatorRole
from services.identity import auth
from services.identity import token_revocation
from services.common.errors import Forbidden, NotFound, Unauthenticated
from services.identity.viewer import Viewer
from tests.factories import make_operator


@pytest.fixture
def trusted_for_a_minute() -> auth.ValidTokens:
    """As a server: tokens found valid are trusted for a while (TOKEN_CACHE_SECONDS, the platform's cache)."""
    return auth.ValidTokens(60)


async def test_logout_revokes_the_token_of_the_request_at_once_and_only_it(db, trusted_for_a_minute):
    operator, viewer = await make_operator()
    this_device, other_device = await auth.issue_token(operator.id), await auth.issue_token(operator.id)
    assert (await auth.authenticate(f"Bearer {this_device}", trusted=trusted_for_a_minute)).operator_id == operator.id  # trusted from now on

    revoked = await token_revocation.logout(viewer, authorization=f"Bearer {this_device}", trusted=trusted_for_a_minute)

    assert revoked == 1
    with pytest.raises(Unauthenticated):  # not a minute later: now, in this process
        await auth.authenticate(f"Bearer {this_device}", trusted=trusted_for_a_minute)
    assert (await auth.authenticate(f"Bearer {other_device}", trusted=trusted_for_a_minute)).operator_id == operator.id


async def test_logout_everywhere_revokes_every_token_of_mine_and_nobody_elses(db, trusted_for_a_minute):
    operator, viewer = await make_operator()
    colleague, _ = await make_operator()
    mine = [await auth.issue_token(operator.id) for _ in range(3)]
    theirs = await auth.issue_token(colleague.id)
    for token in mine:
        await auth.authenticate(f"Bearer {token}", trusted=trusted_for_a_minute)

    revoked = await token_revocation.logout(viewer, authorization=f"Bearer {mine[0]}", everywhere=True, trusted=trusted_for_a_minute)

    assert revoked == 3
    for token in mine:
        with pytest.raises(Unauthenticated):
            await auth.authenticate(f"Bearer {token}", trusted=trusted_for_a_minute)
    assert (await auth.authenticate(f"Bearer {theirs}", trusted=trusted_for_a_minute)).operator_id == colleague.id


async def test_an_admin_revokes_every_token_of_an_operator(db, trusted_for_a_minute):
    _, admin = await make_operator(role=OperatorRole.ADMIN)
    operator, _ = await make_operator()
    tokens = [await auth.issue_token(operator.id), await auth.issue_token(operator.id, ttl_seconds=600)]
    for token in tokens:
        await auth.authenticate(f"Bearer {token}", trusted=trusted_for_a_minute)

    found, revoked = await token_revocation.revoke_operator_tokens(admin, operator_id=operator.id, trusted=trusted_for_a_minute)

    assert (found.id, revoked) == (operator.id, 2)
    assert await ApiToken.filter(operator_id=operator.id).count() == 0
    for token in tokens:
        with pytest.raises(Unauthenticated):
            await auth.authenticate(f"Bearer {token}", trusted=trusted_for_a_minute)


@pytest.mark.parametrize("role", [OperatorRole.OPERATOR, OperatorRole.SUPERVISOR])
async def test_only_an_admin_revokes_someone_elses_tokens(db, role):
    _, caller = await make_operator(role=role)
    operator, _ = await make_operator()
    await auth.issue_token(operator.id)

    with pytest.raises(Forbidden):
        await token_revocation.revoke_operator_tokens(caller, operator_id=operator.id)
    assert await ApiToken.filter(operator_id=operator.id).count() == 1


async def test_revoking_the_tokens_of_nobody_is_not_found(db):
    _, admin = await make_operator(role=OperatorRole.ADMIN)
    with pytest.raises(NotFound):
        await token_revocation.revoke_operator_tokens(admin, operator_id=10**6)


async def test_a_visitor_cannot_log_out_an_operator_token(db):
    operator, _ = await make_operator()
    token = await auth.issue_token(operator.id)
    with pytest.raises(Forbidden):
        await token_revocation.logout(Viewer(client_id=1, visitor_channel_id=1), authorization=f"Bearer {token}")
    assert await ApiToken.filter(operator_id=operator.id).count() == 1


async def test_current_viewers_reads_what_the_database_says_now(db, trusted_for_a_minute):
    supervisor, _ = await make_operator(role=OperatorRole.SUPERVISOR)
    kept, expiring, deleted = (await auth.issue_token(supervisor.id), await auth.issue_token(supervisor.id, ttl_seconds=60),
                               await auth.issue_token(supervisor.id))
    await auth.authenticate(f"Bearer {kept}", trusted=trusted_for_a_minute)  # trusted: the re-check must not read the cache
    await Operator.filter(id=supervisor.id).update(role=OperatorRole.OPERATOR)
    await ApiToken.filter(token_hash=auth.hash_token(deleted)).delete()

    found = await auth.current_viewers([auth.hash_token(t) for t in (kept, expiring, deleted)])

    assert found[auth.hash_token(kept)] == (Viewer(operator_id=supervisor.id, role=OperatorRole.OPERATOR), None)
    viewer, expires_at = found[auth.hash_token(expiring)]
    assert abs(expires_at - (datetime.now(timezone.utc) + timedelta(seconds=60))) < timedelta(seconds=30)
    assert auth.hash_token(deleted) not in found
