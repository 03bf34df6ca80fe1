"""The schema against the binding contract, `../shared/contract-next.graphql`.

It is the next version of `../shared/contract.graphql`; with its three parts ([live], [time],
[integrations]) delivered it replaced the old one as what CI checks: every name of it, with its type
and nullability, must be in schema.graphql. `python -m tests.contracts` prints the verdict (.ci/run
calls it); the old contract's count is printed for information (the fields the next version
changes, such as `QueueEvent.chat` becoming nullable, are its only gaps).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: `../shared` beside the project; from a git worktree deeper down (e.g. /work/wt/<name>), the nearest
#: `shared` folder above it that holds the contract
SHARED = next((folder / "shared" for folder in ROOT.parents if (folder / "shared" / "contract-next.graphql").is_file()),
              ROOT.parent / "shared")
CHECKER = SHARED / "tools" / "check_contract.py"
CONTRACT = SHARED / "contract-next.graphql"
PREVIOUS = SHARED / "contract.graphql"


def gaps(schema_path: Path, contract_path: Path = CONTRACT) -> tuple[list[str], str]:
    """The checker's gap lines and its summary line."""
    result = subprocess.run([sys.executable, str(CHECKER), str(schema_path), str(contract_path)],
                            capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"check_contract.py could not read the schemas: {result.stdout}{result.stderr}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return [line for line in lines if not line.startswith("contract gaps:")], lines[-1]


def main() -> int:
    schema_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "schema.graphql"
    failing, summary = gaps(schema_path)
    for line in failing:
        print(line)
    print(f"contract-next.graphql (binding): {summary}")
    _, previous = gaps(schema_path, PREVIOUS)
    print(f"contract.graphql (the version before, for information): {previous}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
