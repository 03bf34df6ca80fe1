"""The authorisation matrix (tests/authorization/matrix.py) on both backends.

Every root field of the schema must have a row: a new query, mutation or subscription fails
`test_every_root_field_has_a_row` until its expected outcome for every kind of caller is written
down. Then every row runs as every caller, on the world as built (restored after any call that changed it), and each refused call must leave
the database exactly as it was.
"""
from __future__ import annotations

from collections import Counter

from models import Chat
from tests.authorization import matrix, tables
from tests.authorization.world import CALLERS


def test_every_root_field_has_a_row():
    fields = [r.field for r in matrix.ROWS]
    twice = sorted(f for f, n in Counter(fields).items() if n > 1)
    assert not twice, f"more than one row for {twice}"
    uncovered = sorted(matrix.schema_root_fields() - set(fields))
    assert not uncovered, (f"root fields of the schema without a row in tests/authorization/matrix.py: {uncovered}; "
                           "add one with the expected outcome for every kind of caller")
    stale = sorted(set(fields) - matrix.schema_root_fields())
    assert not stale, f"rows for fields the schema no longer has: {stale}"
    # every kind of caller is in every row, and every row refuses someone or is public on purpose
    assert all(set(r.expected) == set(CALLERS) for r in matrix.ROWS)
    public = sorted(r.field for r in matrix.ROWS if r.expected["anonymous"] != matrix.UNAUTHENTICATED)
    assert public == ["Mutation.login", "Mutation.startVisitorChat", "Query.messageCommands", "Query.smileys",
                      "Query.widgetSettings"]


async def test_the_authorization_matrix_holds(db, matrix_services):
    outcomes = await matrix.run_matrix(matrix_services)
    assert len(outcomes) == len(matrix.ROWS) * len(CALLERS)
    mismatches = [o for o in outcomes if o.mismatch]
    assert not mismatches, "\n" + matrix.format_table(outcomes)
    # the matrix is not all one answer: each kind of refusal and of success occurs
    observed = Counter(o.observed for o in outcomes)
    assert {matrix.OK, matrix.HIDDEN, matrix.UNAUTHENTICATED, matrix.FORBIDDEN, matrix.NOT_FOUND} <= set(observed)


async def test_a_wrong_expectation_and_a_changed_database_are_reported(db, matrix_services):
    """The runner can fail: an expectation that does not hold, and a refusal that wrote, are mismatches."""
    me = next(r for r in matrix.ROWS if r.field == "Query.me")
    wrong = matrix.Row(me.field, me.document, {**me.expected, "anonymous": matrix.OK}, me.variables, me.sees)
    outcomes = {o.caller: o for o in await matrix.run_matrix(matrix_services, [wrong])}
    assert outcomes["anonymous"].mismatch and outcomes["anonymous"].observed == matrix.UNAUTHENTICATED
    assert not outcomes["admin"].mismatch

    world = await matrix.fresh_world("answered")
    before = await tables.dump()
    await Chat.filter(id=world.chat_id).update(title="changed behind the API's back")
    changed = tables.differences(before, await tables.dump())
    assert len(changed) == 1 and changed[0].startswith("chat:")
