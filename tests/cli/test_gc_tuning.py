"""The server freezes its start-up heap and spaces out young collections (openchannels/gc_tuning.py)."""
from __future__ import annotations

import gc

from openchannels.app import create_app
from infrastructure.settings import Settings


async def test_the_app_tunes_garbage_collection_while_it_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{tmp_path / 'gc.sqlite3'}")
    monkeypatch.setenv("GC_GEN0_THRESHOLD", "12345")
    monkeypatch.delenv("REDIS_URL", raising=False)
    before = gc.get_threshold()
    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        assert gc.get_threshold()[0] == 12345
        assert gc.get_freeze_count() > 10_000  # the modules, the schema, the ORM's metadata
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_zero_leaves_pythons_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite://{tmp_path / 'gc.sqlite3'}")
    monkeypatch.setenv("GC_GEN0_THRESHOLD", "0")
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        assert gc.get_threshold()[0] == 700 and gc.get_freeze_count() == 0
