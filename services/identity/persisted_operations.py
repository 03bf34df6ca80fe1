"""Trusted documents: operations registered from clients' build manifests, run by their id.

Registration is all or nothing (one transaction): a manifest is a client release, and a
client half registered fails at run time in ways nobody tested. An id keeps its body for
good: registering another body under a registered id is refused (remove it first).
"""
from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from models import PersistedOperation
from services.common.errors import InvalidInput, NotFound
from services.common.transactions import transaction

#: the GraphQL-over-HTTP prefix of a SHA-256 document id; ids are stored and looked up without it
SHA256_PREFIX = "sha256:"
MAX_ID_LENGTH = 255


@dataclass(frozen=True)
class OperationEntry:
    id: str
    name: str | None
    operation_type: str
    body: str


@dataclass(frozen=True)
class Registration:
    added: int
    already_registered: int


def canonical_id(document_id: str) -> str:
    """`sha256:<hex>` (GraphQL over HTTP) and `<hex>` (Apollo's and Codegen's ids, APQ's hash) are one id."""
    return document_id[len(SHA256_PREFIX):] if document_id.startswith(SHA256_PREFIX) else document_id


async def register_operations(entries: list[OperationEntry]) -> Registration:
    """Every entry registered, or none (InvalidInput naming the ids whose body differs)."""
    by_id = {entry.id: entry for entry in entries}
    async with transaction() as tx:
        existing = {row.id: row for row in await PersistedOperation.filter(id__in=list(by_id)).using_db(tx)}
        changed = sorted(i for i, row in existing.items() if row.body != by_id[i].body)
        if changed:
            raise InvalidInput(f"already registered with another body: {', '.join(changed)} "
                               "(an id keeps its document; remove it first to replace it)")
        new = [PersistedOperation(id=e.id, name=e.name, operation_type=e.operation_type, body=e.body)
               for i, e in by_id.items() if i not in existing]
        try:
            await PersistedOperation.bulk_create(new, using_db=tx)
        except IntegrityError as error:  # another registration of the same id committed meanwhile
            raise InvalidInput("another registration of these operations ran at the same time: run it again") \
                from error
    return Registration(added=len(new), already_registered=len(existing))


async def registered_body(document_id: str) -> str | None:
    """The registered document of this id, or None."""
    document_id = canonical_id(document_id)
    if not document_id or len(document_id) > MAX_ID_LENGTH:
        return None
    row = await PersistedOperation.filter(id=document_id).only("body").first()
    return row.body if row is not None else None


async def list_operations() -> list[PersistedOperation]:
    return await PersistedOperation.all().order_by("name", "id")


async def remove_operations(ids: list[str] | None) -> int:
    """Remove these ids (None: every operation); an unknown id is NotFound and nothing is removed."""
    async with transaction() as tx:
        if ids is None:
            return await PersistedOperation.all().using_db(tx).delete()
        wanted = sorted({canonical_id(i) for i in ids})
        found = set(await PersistedOperation.filter(id__in=wanted).using_db(tx).values_list("id", flat=True))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound(f"no registered operation has the id {', '.join(missing)} (see `openchannels operations list`)")
        return await PersistedOperation.filter(id__in=wanted).using_db(tx).delete()
