"""The exported schema is current, and it provides the whole public contract."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema import schema

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT.parent / "shared" / "tools" / "check_contract.py"


def test_committed_schema_is_the_exported_one():
    assert (ROOT / "schema.graphql").read_text() == str(schema).rstrip("\n") + "\n", \
        "schema.graphql is stale: run `openchannels export-schema` and commit it"


def test_the_schema_has_no_contract_gap(tmp_path):
    """Every name of the contract, with its type and nullability, is in the live schema."""
    exported = tmp_path / "schema.graphql"
    exported.write_text(str(schema) + "\n")
    result = subprocess.run([sys.executable, str(CHECKER), str(exported)], capture_output=True, text=True,
                            check=False)
    assert "contract gaps: 0 " in result.stdout, result.stdout
    assert result.returncode == 0
