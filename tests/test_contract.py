"""The exported schema is current, and it provides the whole public contract."""
from __future__ import annotations

from pathlib import Path

from schema import schema
from tests.contracts import gaps

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_is_the_exported_one():
    assert (ROOT / "schema.graphql").read_text() == str(schema).rstrip("\n") + "\n", \
        "schema.graphql is stale: run `openchannels export-schema` and commit it"


def test_the_schema_has_no_contract_gap(tmp_path):
    """Every name of the binding contract (contract-next.graphql), with its type and nullability,
    is in the live schema."""
    exported = tmp_path / "schema.graphql"
    exported.write_text(str(schema) + "\n")
    failing, _ = gaps(exported)
    assert not failing, "\n".join(failing)


def test_a_field_changed_against_the_contract_is_a_gap(tmp_path):
    """The check sees a change of a field's type, not only a missing name."""
    exported = tmp_path / "schema.graphql"
    sdl = str(schema)
    start = sdl.index("type QueueEvent {")
    text = sdl[:start] + sdl[start:].replace("  chat: Chat\n", "  chat: [Chat]\n", 1)
    assert text != sdl
    exported.write_text(text + "\n")
    failing, _ = gaps(exported)
    assert any("chat changed type" in line for line in failing)
