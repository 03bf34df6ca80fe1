"""`node(id:)` for an object of every Node type × every kind of caller (tests/authorization/node_types.py)."""
from __future__ import annotations

from tests.authorization import matrix, node_types
from tests.authorization.world import CALLERS


def test_every_node_type_has_a_row():
    covered = {key.split(":")[0] for key, _ in node_types.NODE_ROWS.values()}
    uncovered = sorted(node_types.node_types() - covered)
    assert not uncovered, f"Node types without a row in tests/authorization/node_types.py: {uncovered}"


async def test_node_answers_each_caller_as_the_type_allows(db, matrix_services):
    outcomes = await node_types.run_node_types(matrix_services)
    assert len(outcomes) == len(node_types.NODE_ROWS) * len(CALLERS)
    mismatches = [o for o in outcomes if o.mismatch]
    assert not mismatches, "\n" + matrix.format_table(outcomes)
