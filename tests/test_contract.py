"""The exported schema is current, and it provides the whole public contract."""
from __future__ import annotations

from pathlib import Path

from schema import schema
from tests.contracts import unaccepted_gaps

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_is_the_exported_one():
    assert (ROOT / "schema.graphql").read_text() == str(schema).rstrip("\n") + "\n", \
        "schema.graphql is stale: run `openchannels export-schema` and commit it"


def test_the_schema_has_no_contract_gap(tmp_path):
    """Every name of the contract, with its type and nullability, is in the live schema, except
    fields the next contract itself changes, which follow the next contract exactly (tests/contracts.py)."""
    exported = tmp_path / "schema.graphql"
    exported.write_text(str(schema) + "\n")
    failing, superseded = unaccepted_gaps(exported)
    assert not failing, "\n".join(failing)
    assert all("changed type" in line for line in superseded)


def test_a_field_changed_against_both_contracts_is_a_gap(tmp_path):
    """A field that is neither as the contract nor as the next contract defines it fails."""
    exported = tmp_path / "schema.graphql"
    text = str(schema).replace("  chat: Chat\n", "  chat: [Chat]\n", 1)
    assert text != str(schema)
    exported.write_text(text + "\n")
    failing, _ = unaccepted_gaps(exported)
    assert any("chat changed type" in line for line in failing)
