"""Tokens and passwords.

Tokens are 256-bit random strings; only their SHA-256 is stored (a fast hash is right for
high-entropy secrets). Passwords use scrypt from the standard library, salted, with cost
parameters stored beside the hash so they can be raised later.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from models import ApiToken, Operator, OperatorRole, VisitorSession
from infrastructure.token_cache import TokenCache
from services.common import raw_sql
from services.common.errors import Unauthenticated
from services.common.read_models import column_of, read_model, row_reader
from services.identity.viewer import ANONYMOUS, Viewer
from services.common.text_input import text_input, EMAIL_LENGTH, PASSWORD_LENGTH
from services.common.transactions import default_connection

OPERATOR_TOKEN_PREFIX = "oc_"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        hash_password(password)  # same cost whether or not the account exists
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                   dklen=len(digest) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


async def issue_token(operator_id: int, *, ttl_seconds: int | None = None) -> str:
    """A new bearer token for the operator; `ttl_seconds=None`: it never expires."""
    token = new_token(OPERATOR_TOKEN_PREFIX)
    expires_at = datetime.now(timezone.utc) + timedelta(seconds=ttl_seconds) if ttl_seconds else None
    await ApiToken.create(operator_id=operator_id, token_hash=hash_token(token), expires_at=expires_at)
    return token


@text_input(email=EMAIL_LENGTH, password=PASSWORD_LENGTH)
async def login(*, email: str, password: str, ttl_seconds: int) -> tuple[str, Operator]:
    operator = await Operator.get_or_none(email=(email or "").strip().lower())
    if not verify_password(password or "", operator.password_hash if operator else None) or operator is None:
        raise Unauthenticated("Wrong e-mail or password.", field=["input", "password"])
    return await issue_token(operator.id, ttl_seconds=ttl_seconds), operator


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (None when absent)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use `Authorization: Bearer <token>`.")
    return token.strip()


def token_digest(authorization: str | None) -> str | None:
    """The SHA-256 of the bearer token in an Authorization value, what identifies it everywhere
    (stored rows, caches, rate-limit keys); None without a well-formed one."""
    try:
        token = bearer_token(authorization)
    except Unauthenticated:
        return None
    return hash_token(token) if token else None


async def authenticate(authorization: str | None, *, fresh: bool = False, trusted: ValidTokens | None = None) -> Viewer:
    """The viewer for an Authorization value. No value: anonymous. A bad token: UNAUTHENTICATED.

    `trusted`: the tokens this process trusts already (the platform's, infrastructure/platform.py;
    None: every call reads the database). `fresh`: read the token in the database even when it is
    trusted: a WebSocket is authenticated once and then held for hours."""
    viewer, _ = await authenticate_with_expiry(authorization, fresh=fresh, trusted=trusted)
    return viewer


async def authenticate_with_expiry(authorization: str | None, *, fresh: bool = False,
                                   trusted: ValidTokens | None = None) -> tuple[Viewer, datetime | None]:
    """`authenticate`, and when the token expires (None: never, a visitor token, or no token):
    a WebSocket authenticated with it is closed at that moment."""
    token = bearer_token(authorization)
    if token is None:
        return ANONYMOUS, None
    digest = hash_token(token)
    found = None if fresh or trusted is None else trusted.get(digest)
    if found is None:
        found = await _look_up(token, digest)
        if trusted is not None:
            trusted.put(digest, found)
    viewer, expires_at = found
    if expires_at is not None and expires_at <= datetime.now(timezone.utc):
        raise Unauthenticated("Invalid or expired token.")
    return viewer, expires_at


async def _look_up(token: str, digest: str) -> tuple[Viewer, datetime | None]:
    """The token's viewer and expiry, read from the database."""
    connection = default_connection()
    visitor = token.startswith("ocv_")
    rows = await raw_sql.rows(connection, _VISITOR_SESSION if visitor else _OPERATOR_TOKEN, digest)
    if not rows:
        raise Unauthenticated("Invalid or expired token.")
    found: tuple[Viewer, datetime | None]
    if visitor:
        found = Viewer(client_id=rows[0]["client_id"], visitor_channel_id=rows[0]["open_channel_id"]), None
    else:
        row = _read_operator_token(rows[0])
        found = Viewer(operator_id=row.operator_id, role=row.role), row.expires_at
    return found


#: Tokens found valid, by digest, trusted for `seconds` without reading the database again
#: (TOKEN_CACHE_SECONDS; 0: every request reads it): one per process, the platform's `tokens`
#: (infrastructure/platform.py). Every request looked its token up: one round trip and a row for
#: each, about a twentieth of what sendMessage costs the server.
#:
#: What the database says about a token changes outside this process (a token deleted or an
#: operator's role changed by hand, or revoked through another process): a process sees it
#: `seconds` later at most. Revoked through this process (services/identity/token_revocation.py), it
#: is forgotten at once. A token's own expiry is checked on every use.
ValidTokens = TokenCache[tuple[Viewer, "datetime | None"]]


def forget_tokens(trusted: ValidTokens | None, digests: Iterable[str]) -> None:
    """This process stops trusting these tokens at once (revoked, or their viewer changed)."""
    if trusted is None:
        return
    for digest in digests:
        trusted.discard(digest)


async def current_viewers(digests: Collection[str]) -> dict[str, tuple[Viewer, datetime | None]]:
    """What the database says now about these tokens, by digest (the viewer and the expiry); a
    token not found is absent. Read in a few statements whatever their number: the re-check of
    every live WebSocket connection (services/identity/live_tokens.py)."""
    found: dict[str, tuple[Viewer, datetime | None]] = {}
    listed = list(digests)
    for start in range(0, len(listed), _LOOK_UP_CHUNK):
        chunk = listed[start:start + _LOOK_UP_CHUNK]
        for digest, operator_id, expires_at, role in await ApiToken.filter(token_hash__in=chunk).values_list(
                "token_hash", "operator_id", "expires_at", "operator__role"):
            found[digest] = Viewer(operator_id=operator_id, role=OperatorRole(role)), expires_at
        for digest, client_id, channel_id in await VisitorSession.filter(token_hash__in=chunk).values_list(
                "token_hash", "client_id", "open_channel_id"):
            found[digest] = Viewer(client_id=client_id, visitor_channel_id=channel_id), None
    return found


#: tokens read by one statement of current_viewers (SQLite's limit on parameters is far above)
_LOOK_UP_CHUNK = 500

# Every request looks its token up: short hand-written statements (services/common/raw_sql.py), as
# Tortoise's query building and model hydration cost several times what PostgreSQL spends.
_VISITOR_SESSION = "SELECT client_id, open_channel_id FROM visitor_session WHERE token_hash = $1"
_OPERATOR_TOKEN = ("SELECT t.operator_id, t.expires_at, o.role FROM api_token t "
                   "JOIN operator o ON o.id = t.operator_id WHERE t.token_hash = $1")


@read_model(ApiToken)
@dataclass(frozen=True, slots=True)
class OperatorTokenRow:
    """An operator's token as a request's look-up reads it (_OPERATOR_TOKEN)."""
    operator_id: int
    expires_at: datetime | None
    role: OperatorRole = column_of(Operator)


_read_operator_token = row_reader(OperatorTokenRow)
