"""The engine's private parts: what uses them, their pins, and PLAIN_EXECUTION (tests/engine)."""
from __future__ import annotations

import pytest

from infrastructure.settings import plain_execution_enabled

#: a test of a fast path itself (that it is taken, what it saves): skipped with PLAIN_EXECUTION=off,
#: where the fast path is off by design; what it answers is tested both ways by the other tests
fast_path_only = pytest.mark.skipif(
    not plain_execution_enabled(), reason="PLAIN_EXECUTION=off: this tests the fast path itself, which is off")
