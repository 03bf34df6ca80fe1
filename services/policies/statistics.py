"""Whose conversations the statistics count: supervisors and admins every one the filter asks for,
an operator only those they are responsible for, whatever the filter asks."""
from __future__ import annotations

from services.identity.viewer import Viewer, require_operator


def counted_operator_ids(viewer: Viewer, asked: list[int] | None) -> list[int] | None:
    """The responsible operators to narrow the statistics to (None: no narrowing)."""
    me = require_operator(viewer)
    if viewer.is_supervisor:
        return asked
    return [me] if asked is None or me in asked else []
