"""Inside the GraphQL layer the order is one way: schema -> resolvers -> services. The schema's
types and roots call resolvers and build the types from what they return; resolvers never build a
schema type (an import under `if TYPE_CHECKING:` is an annotation only), and no schema type calls a
service or a loader itself."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _runtime_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of the file that runs, `if TYPE_CHECKING:` blocks left out."""
    tree = ast.parse(path.read_text(), str(path))
    checking_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            checking_only |= {id(n) for statement in node.body for n in ast.walk(statement)}
    found = []
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _arrows(package: str, forbidden: str) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {module}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, module in _runtime_imports(path)
            if module == forbidden or module.startswith(forbidden + ".")]


def test_resolvers_import_nothing_of_the_schema():
    assert _arrows("resolvers", "schema") == []


def test_the_schema_imports_no_service():
    assert _arrows("schema", "services") == []


def test_no_schema_type_reads_a_loader_itself():
    readers = [f"{path.relative_to(ROOT)}:{number}"
               for path in sorted((ROOT / "schema").rglob("*.py"))
               for number, line in enumerate(path.read_text().splitlines(), 1)
               if "context.loaders" in line and not line.lstrip().startswith(("#", '"'))]
    assert readers == []
