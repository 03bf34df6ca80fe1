"""The schema against the two contracts: `../shared/contract.graphql` (binding) and its next version
`../shared/contract-next.graphql`, whose parts the open issues deliver.

The next version changes a few of the contract's own fields (`QueueEvent.chat` becomes nullable:
an event of a chat the viewer may no longer read). Once a part delivers such a change, the schema
follows the next version there, and the checker reports the field against the old contract. Such a
difference is accepted only when the next contract defines the field exactly as the schema does;
every other gap fails. `python -m tests.contracts` prints the verdict (.ci/run calls it).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from graphql import GraphQLSchema, build_schema

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CHECKER = SHARED / "tools" / "check_contract.py"
CONTRACT = SHARED / "contract.graphql"
NEXT = SHARED / "contract-next.graphql"

_CHANGED = re.compile(r"^FIELD_CHANGED_KIND: (?:Field )?(\w+)\.(\w+) changed type from (\S+) to (\S+)\.$")


def gaps(schema_path: Path, contract_path: Path) -> tuple[list[str], str]:
    """The checker's gap lines and its summary line."""
    result = subprocess.run([sys.executable, str(CHECKER), str(schema_path), str(contract_path)],
                            capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"check_contract.py could not read the schemas: {result.stdout}{result.stderr}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return [line for line in lines if not line.startswith("contract gaps:")], lines[-1]


def _field_type(schema: GraphQLSchema, type_name: str, field_name: str) -> str | None:
    owner = schema.type_map.get(type_name)
    field = getattr(owner, "fields", {}).get(field_name) if owner is not None else None
    return str(field.type) if field is not None else None


def unaccepted_gaps(schema_path: Path) -> tuple[list[str], list[str]]:
    """(gaps against the contract that fail, gaps the next contract's own change of a field explains)."""
    found, _ = gaps(schema_path, CONTRACT)
    nxt, ours = build_schema(NEXT.read_text()), build_schema(schema_path.read_text())
    failing, superseded = [], []
    for line in found:
        match = _CHANGED.match(line)
        if match:
            type_name, field_name, _, now = match.groups()
            if _field_type(nxt, type_name, field_name) == now == _field_type(ours, type_name, field_name):
                superseded.append(line)
                continue
        failing.append(line)
    return failing, superseded


def main() -> int:
    schema_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "schema.graphql"
    failing, superseded = unaccepted_gaps(schema_path)
    for line in superseded:
        print(f"as contract-next.graphql defines it: {line}")
    for line in failing:
        print(line)
    _, summary = gaps(schema_path, NEXT)
    print(f"contract-next.graphql: {summary}")
    print(f"contract.graphql: {len(failing)} gaps ({len(superseded)} fields as the next version defines them)")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
