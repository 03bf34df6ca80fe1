"""Visitor identity: a website proves that a visitor is its signed-in user `external_id` by passing
`identity_hash` = hex HMAC-SHA256(key = the channel's identity secret, message = external_id), which
its server computes. Admins make the secret (services/chats/open_channels.py
`rotate_identity_secret`); it is shown once, and a new one invalidates every hash made with the old.

An external id names one client per channel: each channel signs with its own secret, so a website
cannot claim the visitors of another.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from models import OpenChannel
from services.common.errors import InvalidInput

_HEX_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def new_identity_secret() -> str:
    return secrets.token_hex(32)


def identity_hash(secret: str, external_id: str) -> str:
    """What the website's server computes (and what this server compares with)."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def verified_external_id(channel: OpenChannel, external_id: str | None, given_hash: str | None) -> str | None:
    """The external id a correct hash proves; None without a hash (nothing is merged).

    INVALID_INPUT for a hash without an id, a channel without a secret, or a hash that does not match
    (compared in constant time)."""
    external_id = (external_id or "").strip() or None
    given_hash = (given_hash or "").strip() or None
    if given_hash is None:
        return None
    if external_id is None:
        raise InvalidInput("identityHash needs the externalId it signs.", field=["input", "externalId"])
    if not channel.identity_secret:
        raise InvalidInput("This open channel verifies no identities: an admin creates its identity secret "
                           "first (rotateIdentitySecret).", field=["input", "identityHash"])
    expected = identity_hash(channel.identity_secret, external_id)
    if not _HEX_SHA256.match(given_hash) or not hmac.compare_digest(expected, given_hash.lower()):
        raise InvalidInput("The identity hash does not match externalId: sign it with the channel's current "
                           "identity secret (hex HMAC-SHA256).", field=["input", "identityHash"])
    return external_id
