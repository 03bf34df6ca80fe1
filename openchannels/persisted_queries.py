"""Automatic persisted queries: Apollo's APQ protocol, over POST and GET.

A client sends only the SHA-256 of its document, as
`extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}` with no `query`.
If this process knows the hash, the document runs; if not, the answer is the error
`PersistedQueryNotFound` (code PERSISTED_QUERY_NOT_FOUND) and the client sends the document
with its hash once: the server checks that the hash is the document's and remembers it. A
console's polling then uploads a few dozen bytes instead of its document, and GET requests
have short URLs that a CDN can cache. GET still runs queries only.

A hash that names a registered operation (a trusted document) runs that operation in every
process: openchannels/trusted_documents.py looks there first and comes here after.

The documents are remembered per process in a bounded LRU: with several processes, a client
whose hash a process has not seen gets PersistedQueryNotFound once there and sends the
document again, as the protocol expects.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

from strawberry.http import GraphQLRequestData

from infrastructure.lru import LRU

#: distinct documents remembered per process
CACHE_SIZE = 1000
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
INVALID = "PERSISTED_QUERY_INVALID"


class PersistedQueryError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def apq_hash(extensions: dict | None) -> str | None:
    """The SHA-256 (hex, lower case) of `extensions.persistedQuery`, or None when there is none."""
    persisted = (extensions or {}).get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1 \
            or not isinstance(persisted.get("sha256Hash"), str):
        raise PersistedQueryError("persistedQuery needs version 1 and a sha256Hash string.", INVALID)
    return persisted["sha256Hash"].lower()


class PersistedQueries:
    """Documents by their SHA-256 (hex), most recently used kept."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._documents: LRU[str, str] = LRU(size)

    def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        """The request with its document: looked up by hash, or checked and remembered."""
        digest = apq_hash(request.extensions)
        if digest is None:
            return request
        if request.query is None:
            document = self._documents.get(digest)
            if document is None:
                raise PersistedQueryError("PersistedQueryNotFound", NOT_FOUND)
            return replace(request, query=document)
        if hashlib.sha256(request.query.encode()).hexdigest() != digest:
            raise PersistedQueryError("provided sha does not match query", INVALID)
        self._documents.put(digest, request.query)
        return request
