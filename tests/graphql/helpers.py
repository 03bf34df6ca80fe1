"""Run operations through the real schema with a built context (no HTTP)."""
from __future__ import annotations

from typing import Any

from infrastructure.platform import Platform
from resolvers.context import Context
from schema import schema
from services.identity.viewer import ANONYMOUS, Viewer


async def execute(query: str, viewer: Viewer = ANONYMOUS, *, platform: Platform | None = None, **variables: Any) -> Any:
    """The result's data; fails the test on any top-level error. `platform`: the outside services
    the operation may use (the test's `platform` fixture, or one the test built)."""
    result = await schema.execute(query, variable_values=variables,
                                  context_value=Context(viewer=viewer, platform=platform))
    assert result.errors is None, result.errors
    return result.data


async def execute_raw(query: str, viewer: Viewer = ANONYMOUS, *, platform: Platform | None = None, **variables: Any):
    return await schema.execute(query, variable_values=variables,
                                context_value=Context(viewer=viewer, platform=platform))
