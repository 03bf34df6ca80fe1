"""Use cases open their transactions through services/common/transactions.py, which on SQLite takes
the write lock first (two processes on one file then wait for each other instead of failing)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: a read-only transaction whose only purpose is a `SET LOCAL` on PostgreSQL
ALLOWED = {"services/common/transactions.py", "services/contact_center/search.py"}
#: Tortoise's `in_transaction()` and `atomic()`; a savepoint inside a transaction (`tx._in_transaction()`) is not one
OPENS = re.compile(r"(?<![._])(in_transaction|atomic)\(")


def test_only_the_transaction_helper_opens_tortoise_transactions():
    offenders = sorted(
        str(path.relative_to(ROOT))
        for folder in ("models", "services", "resolvers", "schema", "openchannels", "infrastructure")
        for path in (ROOT / folder).rglob("*.py")
        if OPENS.search(path.read_text())
        and str(path.relative_to(ROOT)) not in ALLOWED
    )
    assert offenders == [], f"open transactions with services.common.transactions.transaction(): {offenders}"
