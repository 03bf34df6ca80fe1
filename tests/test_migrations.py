"""The committed migrations describe the models exactly: no model change is left without one."""
from __future__ import annotations

from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from infrastructure.settings import tortoise_config


async def test_no_model_change_is_missing_a_migration(tmp_path):
    config = tortoise_config(f"sqlite://{tmp_path / 'autodetect.sqlite3'}")
    apps = config["apps"]
    async with tortoise_cli_context(config) as ctx:
        pending = await MigrationAutodetector(ctx.apps, apps).changes()
    described = [op for writer in pending for op in getattr(writer, "operations", [])]
    assert not pending, f"models changed without a migration (run `tortoise makemigrations`): {described}"
