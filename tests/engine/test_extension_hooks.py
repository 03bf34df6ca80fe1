"""The schema extensions' hooks are found once per extension class (schema/extension_hooks.py),
not looked up and wrapped again by Strawberry on every operation."""
from __future__ import annotations

import inspect

from schema import build_schema

HOOKS = {"on_operation", "on_parse", "on_validate", "on_execute"}


async def _hook_lookups(schema, monkeypatch) -> list:
    """The extension hooks inspected while one more operation runs (after a first one)."""
    await schema.execute("{ __typename }")
    looked_up: list = []
    for name in ("isgeneratorfunction", "isasyncgenfunction"):
        real = getattr(inspect, name)

        def spy(function, real=real):
            if getattr(function, "__name__", None) in HOOKS:
                looked_up.append(function)
            return real(function)

        monkeypatch.setattr(inspect, name, spy)
    result = await schema.execute("{ __typename }")
    assert result.errors is None and result.data == {"__typename": "Query"}
    monkeypatch.undo()
    return looked_up


async def test_a_repeated_operation_looks_no_extension_hook_up(monkeypatch):
    assert await _hook_lookups(build_schema(), monkeypatch) == []


async def test_plain_execution_off_leaves_it_to_strawberry(monkeypatch):
    """(What the first test would see without schema/extension_hooks.py: every hook, every time.)"""
    assert len(await _hook_lookups(build_schema(plain_execution=False), monkeypatch)) >= 6
