"""Revoking operator tokens: `logout` (the token of the request, or every token of the caller)
and an admin's `revokeOperatorTokens` (every token of one operator).

A revoked token's row is deleted, in one statement that says which tokens it deleted. This
process stops trusting them at once (the platform's token cache, services/identity/auth.ValidTokens); other processes within
TOKEN_CACHE_SECONDS. WebSocket connections opened with them are closed with 4403 at the next
re-check of live connections (services/identity/live_tokens.py), in every process.
"""
from __future__ import annotations


from models import Operator
from services.common import raw_sql
from services.identity.auth import ValidTokens, bearer_token, forget_tokens, hash_token
from services.common.errors import Forbidden, NotFound
from services.identity.viewer import Viewer, require_operator
from services.common.transactions import transaction

_REVOKE_ONE = "DELETE FROM api_token WHERE operator_id = $1 AND token_hash = $2 RETURNING token_hash"
_REVOKE_ALL = "DELETE FROM api_token WHERE operator_id = $1 RETURNING token_hash"


async def logout(viewer: Viewer, *, authorization: str | None, everywhere: bool = False,
                 trusted: ValidTokens | None = None) -> int:
    """Revoke the token this request was made with (`everywhere`: every token of the caller).
    The number of tokens revoked; `trusted` (the process's token cache) forgets them."""
    me = require_operator(viewer)
    if everywhere:
        return await _revoke(trusted, _REVOKE_ALL, me)
    token = bearer_token(authorization)
    return await _revoke(trusted, _REVOKE_ONE, me, hash_token(token or ""))


async def revoke_operator_tokens(viewer: Viewer, *, operator_id: int,
                                 trusted: ValidTokens | None = None) -> tuple[Operator, int]:
    """An admin signs an operator out everywhere: every token of theirs is revoked (the CLI's
    too; a new one comes from `login` or `openchannels create-operator`)."""
    require_operator(viewer)
    if not viewer.is_admin:
        raise Forbidden("Only an admin can revoke another operator's tokens.")
    operator = await Operator.get_or_none(id=operator_id)
    if operator is None:
        raise NotFound("There is no such operator.", field=["input", "operatorId"])
    return operator, await _revoke(trusted, _REVOKE_ALL, operator_id)


async def _revoke(trusted: ValidTokens | None, statement: str, *values: object) -> int:
    async with transaction() as tx:
        revoked = [row["token_hash"] for row in await raw_sql.rows(tx, statement, *values)]
    forget_tokens(trusted, revoked)  # after commit: a request in between may still have found them valid
    return len(revoked)
