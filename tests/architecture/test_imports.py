"""The import check: every module of the application packages is parsed (ast, nothing is
imported) and its imports are held against the house's layout.

(a) Layers. infrastructure <- models <- services <- resolvers/schema <- openchannels: a module
    imports only its own layer and the layers to its left. Inside the GraphQL layer the order is
    schema -> resolvers -> services: schema/ may import resolvers/, resolvers/ never imports
    schema/ at run time (under `if TYPE_CHECKING:` it may, for annotations).
    Imports under `if TYPE_CHECKING:` are not run, but they respect the layer rule all the same.
(b) No cycle between packages: neither between the top-level packages nor between the domain
    sub-packages of services/ (chats, messaging, contact_center, automation, policies, identity,
    events, common, and the modules at services/'s root).
(c) No import inside a function or method (where it would hide a cycle or a dependency), except
    of an optional extra (OPTIONAL_EXTRAS), and such an import says so in a comment (`extra`) on
    its line or the line above its block of imports.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("infrastructure", "models", "services", "resolvers", "schema", "openchannels")
LAYER = {"infrastructure": 0, "models": 1, "services": 2, "resolvers": 3, "schema": 3, "openchannels": 4}
LAYER_RULE = "infrastructure <- models <- services <- resolvers/schema <- openchannels"

# Packages that are not installed by default: imported where used, so that the application runs
# without them. The import says so in a comment on its line or the line above (`... extra`).
OPTIONAL_EXTRAS = {
    "aiobotocore": "the [s3] extra: uploads in an S3-compatible bucket (S3_BUCKET)",
    "opentelemetry": "the [otel] extra: tracing (OTEL_EXPORTER_OTLP_ENDPOINT)",
    "strawberry.extensions.tracing": "Strawberry's tracing extensions import opentelemetry (the [otel] extra)",
    "infrastructure.s3_storage": "S3 file storage imports aiobotocore (the [s3] extra)",
}

# resolvers/ -> schema/ at run time: none (the GraphQL layer's order is schema -> resolvers ->
# services: resolvers return what services return, schema/ builds its types). An entry here would be
# a known exception: the test below fails on any import that is not in it, and on any entry that no
# longer exists.
GRAPHQL_LAYER_TODO: frozenset[tuple[str, str]] = frozenset()

@dataclass(frozen=True)
class Import:
    importer: str  # module name
    imported: str  # module name (a module or package of this tree, or an outside one)
    path: str  # file, relative to the tree
    line: int
    in_function: bool
    type_checking: bool
    comment: str  # the source of the import's line and the line above

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports_of(module: str, path: Path) -> list[Import]:
    source = path.read_text()
    lines = source.splitlines()
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            name = ".".join(base + ([node.module] if node.module else []))
        else:
            name = node.module or ""
        # `from services.chats import queue` imports the module services.chats.queue
        subs = [f"{name}.{alias.name}" for alias in node.names if f"{name}.{alias.name}" in MODULES]
        return subs if subs and len(subs) == len(node.names) else [name, *subs]

    def walk(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                first = child.lineno - 1  # the comment may head a block of imports: `# optional extra`
                while first > 0 and lines[first - 1].strip().startswith(("import ", "from ")):
                    first -= 1
                comment = "\n".join(lines[max(first - 1, 0): child.end_lineno or child.lineno])
                for target in targets(child):
                    found.append(Import(module, target, str(path.relative_to(ROOT)), child.lineno, in_function,
                                        type_checking, comment))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, True, type_checking)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    walk(ast.Module(body=[stmt], type_ignores=[]), in_function, True)
                for stmt in child.orelse:
                    walk(ast.Module(body=[stmt], type_ignores=[]), in_function, type_checking)
            else:
                walk(child, in_function, type_checking)

    walk(ast.parse(source, filename=str(path)), False, False)
    return found


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports_of(module, path)]


def _top(module: str) -> str:
    return module.split(".")[0]


def _internal() -> list[Import]:
    return [imp for imp in IMPORTS if _top(imp.imported) in LAYER]


def _services_part(module: str) -> str:
    """services.chats.queue -> services.chats (a domain sub-package); services.demo -> services.demo."""
    return ".".join(module.split(".")[:2])


def _cycles(edges: dict[tuple[str, str], list[Import]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _explain_cycles(kind: str, edges: dict[tuple[str, str], list[Import]]) -> list[str]:
    problems = []
    for component in _cycles(edges):
        arrows = [f"    {a} -> {b}: " + ", ".join(f"{i.where()} ({i.imported})" for i in edges[(a, b)][:3])
                  for (a, b) in sorted(edges) if a in component and b in component]
        problems.append(f"a cycle between {kind} {', '.join(component)}:\n" + "\n".join(arrows))
    return problems


def test_the_check_reads_the_whole_tree():
    """A guard against a check that passes because it reads nothing."""
    assert {_top(m) for m in MODULES} == set(PACKAGES)
    assert len(MODULES) > 150
    assert any(i.importer == "services.chats.chats" and i.imported == "services.chats.queue" for i in IMPORTS)


def test_no_arrow_against_the_layers():
    problems = []
    for imp in _internal():
        a, b = _top(imp.importer), _top(imp.imported)
        if LAYER[b] > LAYER[a]:
            allowed = [p for p in PACKAGES if LAYER[p] <= LAYER[a]]
            problems.append(f"{imp.where()}: {imp.importer} imports {imp.imported}{' (TYPE_CHECKING)' * imp.type_checking}"
                            f": {a}/ may import only {', '.join(allowed)}")
    assert not problems, f"imports against the layer rule {LAYER_RULE}:\n" + "\n".join(problems)


def test_resolvers_do_not_import_schema_at_run_time():
    """Inside the GraphQL layer: schema -> resolvers -> services. A resolver returns what a service
    returns; schema/ builds its types from it (and only schema/ knows the types)."""
    found = {(i.importer, i.imported): i for i in _internal()
             if _top(i.importer) == "resolvers" and _top(i.imported) == "schema" and not i.type_checking}
    new = [f"{i.where()}: {i.importer} imports {i.imported}" for key, i in sorted(found.items())
           if key not in GRAPHQL_LAYER_TODO]
    assert not new, "resolvers/ imports schema/ at run time (the order is schema -> resolvers -> services):\n" \
        + "\n".join(new)
    gone = sorted(GRAPHQL_LAYER_TODO - found.keys())
    assert not gone, "GRAPHQL_LAYER_TODO lists imports that no longer exist: remove them\n" \
        + "\n".join(f"{a} -> {b}" for a, b in gone)


def test_no_cycle_between_packages():
    """Run-time imports only (TYPE_CHECKING ones run never); the GraphQL layer's known imports of
    GRAPHQL_LAYER_TODO aside (they are checked above)."""
    top: dict[tuple[str, str], list[Import]] = defaultdict(list)
    domains: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in _internal():
        if imp.type_checking or (imp.importer, imp.imported) in GRAPHQL_LAYER_TODO:
            continue
        a, b = _top(imp.importer), _top(imp.imported)
        if a != b:
            top[(a, b)].append(imp)
        elif a == "services" and imp.imported != "services":
            da, db = _services_part(imp.importer), _services_part(imp.imported)
            if da != db and imp.importer != "services":
                domains[(da, db)].append(imp)
    problems = _explain_cycles("packages", top) + _explain_cycles("the domains of services/", domains)
    assert not problems, "\n".join(problems)


#: the domains of services/, each importing only those before it (the README's Architecture)
SERVICE_DOMAINS = ("common", "identity", "policies", "events", "chats", "messaging", "contact_center", "automation",
                   "demo")


def test_the_domains_of_services_depend_one_way():
    """contact_center and automation build on messaging, which builds on chats, ...; never back."""
    rank = {f"services.{name}": i for i, name in enumerate(SERVICE_DOMAINS)}
    problems = []
    for imp in _internal():
        if _top(imp.importer) != "services" or _top(imp.imported) != "services" or imp.imported == "services":
            continue
        a, b = _services_part(imp.importer), _services_part(imp.imported)
        if a == b:
            continue
        if a not in rank or b not in rank:
            problems.append(f"{imp.where()}: {a} or {b} is not in SERVICE_DOMAINS: place it in the order")
        elif rank[b] > rank[a]:
            problems.append(f"{imp.where()}: {imp.importer} imports {imp.imported}: {a} comes before {b} "
                            f"({' <- '.join(SERVICE_DOMAINS)})")
    assert not problems, "imports against the order of the domains of services/:\n" + "\n".join(problems)


def test_no_import_inside_a_function():
    """An import inside a function hides a dependency (often a cycle) from the module's head; only
    an optional extra is imported where it is used, and says so."""
    problems = []
    for imp in IMPORTS:
        if not imp.in_function:
            continue
        extra = next((name for name in OPTIONAL_EXTRAS if imp.imported == name or imp.imported.startswith(name + ".")),
                     None)
        if extra is None:
            problems.append(f"{imp.where()}: {imp.importer} imports {imp.imported} inside a function: "
                            "import it at the top of the module (if that makes a cycle, move the shared part "
                            "to the module both need)")
        elif "extra" not in imp.comment:
            problems.append(f"{imp.where()}: {imp.imported} is an optional extra ({OPTIONAL_EXTRAS[extra]}): "
                            "say so in a comment (`# optional extra: ...`)")
    assert not problems, "imports inside functions:\n" + "\n".join(problems)
