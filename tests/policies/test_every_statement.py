"""Every statement that reads chats or messages takes its condition from the policy (services/policies).

An AST scan of the application packages finds the statements: hand-written SQL (string literals
with `FROM chat`, `JOIN message`...) and Tortoise queries on Chat, Message and the models read
with them. A statement is policed when the function it is written in refers to the policy package
(services/policies), or, for a private helper or a module constant, when every function of its
module using it is policed. Every other statement must be in EXCEPTIONS with the reason: a new
statement without the policy fails this test, and so does an exception that no longer applies.
The policy package itself is where the rules are written: it is not scanned.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "resolvers", "schema", "openchannels")
POLICY_PACKAGE = "services.policies"

#: SQL reading the chat or message table (the keywords upper case, as every statement here is written)
SQL_READ = re.compile(r"\b(FROM|JOIN)\s+(chat|message)\b(?!_)")
#: models whose rows are a chat's or a message's, and the methods that start a read
MODELS = {"Chat", "Message", "Attachment", "MessageReference", "MessageMention"}
READS = {"filter", "all", "get", "get_or_none", "exclude", "first", "raw", "annotate", "exists", "in_bulk",
         "select_for_update", "values", "values_list", "count"}

#: "module:function" -> why its statements do not take a viewer's condition
EXCEPTIONS: dict[str, str] = {
    # the system: no viewer, every chat (timers, the queue's distribution, connectors, payments, the demo)
    "services.automation.connector_outbox:_deliver_connector": "relays one visible client message (checked: silent raises)",
    "services.automation.connector_outbox:backlog": "the relay's backlog age: a system figure",
    "services.automation.connector_outbox:relay": "relays operators' visible messages (silent=False) to connectors",
    "services.automation.connectors:take_in": "an inbound connector message: the chat of the identity's client",
    "services.automation.timeouts:auto_close_chat": "the scheduler closes a chat by id (system read)",
    "services.automation.timeouts:due_auto_closes": "the scheduler's due chats (system read)",
    "services.automation.timeouts:expire_offer": "the scheduler expires an offer by chat id (system read)",
    "services.chats.chat_states:transition": "the conditional UPDATE of a chat the caller already read through the policy",
    "services.chats.operators:active_chat_counts": "a count per operator (load), no chat is shown",
    "services.chats.queue:eligible_members": "the queue's distribution counts active chats (system read)",
    "services.chats.queue:offer_waiting_chats": "the queue's distribution offers waiting chats (system read)",
    "services.chats.queue:pass_on_offers_of": "the queue's distribution passes offers on (system read)",
    "services.chats.visitors:start_visitor_chat": "the chat this visitor's first message just opened",
    "services.contact_center.sales:handle_payment_notification": "a signed payment webhook: no viewer",
    "services.demo:seed_demo": "the demo's seed data (CLI, no viewer)",
    # parts of a statement whose visibility condition the caller adds
    "services.contact_center.search:chats_matching_sql": "a search condition ANDed with visible_chats_sql "
                                                         "(conversations._conditions)",
    "services.contact_center.search:matching_messages": "a search condition ANDed with readable_messages or "
                                                        "chats_of_client (search_in's callers)",
    "services.messaging.files:attach_uploads": "the caller's own uploads to a chat checked by operator_chat",
}


@dataclass(frozen=True)
class Statement:
    unit: str
    line: int
    text: str


def _policy_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == POLICY_PACKAGE or node.module.startswith(POLICY_PACKAGE + ".")):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.asname or alias.name for alias in node.names if alias.name.startswith(POLICY_PACKAGE)}
    return names


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _statements_in(node: ast.AST, docstrings: set[int]) -> list[tuple[int, str]]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and id(sub) not in docstrings \
                and SQL_READ.search(sub.value):
            found.append((sub.lineno, sub.value[:60]))
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in READS \
                and isinstance(sub.func.value, ast.Name) and sub.func.value.id in MODELS:
            found.append((sub.lineno, f"{sub.func.value.id}.{sub.func.attr}"))
    return found


def _units(tree: ast.Module) -> dict[str, ast.AST]:
    """Top-level functions, methods (Class.method) and module-level assignments, by name."""
    units: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            units[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    units[f"{node.name}.{item.name}"] = item
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    units[target.id] = node
    return units


def _names_used(node: ast.AST) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            names.add(sub.attr)
    return names


def _imported(tree: ast.Module) -> dict[str, str]:
    """Local name -> "module:name" of the `from package.module import name` of one module."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}:{alias.name}"
    return found


def unpoliced(modules: dict[str, str]) -> list[Statement]:
    """The statements of these modules (name -> source) that do not take their condition from the policy.

    A unit (function, method, module constant) is policed when it uses a name of the policy
    package, or a policed unit (of its module, or imported by name from another); a private
    helper or a constant is policed when every unit of its module using it is."""
    trees = {module: ast.parse(source) for module, source in modules.items()}
    units = {module: _units(tree) for module, tree in trees.items()}
    uses = {f"{module}:{name}": _names_used(node) for module in trees for name, node in units[module].items()}
    policy = {module: _policy_names(tree) for module, tree in trees.items()}
    imported = {module: _imported(tree) for module, tree in trees.items()}
    policed = {unit for unit, used in uses.items() if used & policy[unit.split(":")[0]]}
    changed = True
    while changed:
        changed = False
        for unit, used in uses.items():
            if unit in policed:
                continue
            module, name = unit.split(":")
            short = name.split(".")[-1]
            others = {other.split(":")[1].split(".")[-1]: other for other in policed if other.startswith(module + ":")}
            calls_policed = any(n in others for n in used) or any(imported[module].get(n) in policed for n in used)
            users = [other for other, u in uses.items() if other != unit and other.startswith(module + ":")
                     and short in u]
            helper = (short.startswith("_") or short.isupper()) and users and all(u in policed for u in users)
            if calls_policed or helper:
                policed.add(unit)
                changed = True
    found = []
    for module, tree in trees.items():
        docstrings = _docstrings(tree)
        for name, node in units[module].items():
            if f"{module}:{name}" not in policed:
                found += [Statement(f"{module}:{name}", line, text) for line, text in _statements_in(node, docstrings)]
    return found


def _application_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            if module == POLICY_PACKAGE or module.startswith(POLICY_PACKAGE + "."):
                continue
            yield module, path.read_text()


def test_every_statement_reading_chats_or_messages_takes_its_condition_from_the_policy():
    found = unpoliced(dict(_application_modules()))
    unexplained = sorted({f"{s.unit} (line {s.line}: {s.text!r})" for s in found if s.unit not in EXCEPTIONS})
    assert not unexplained, ("statements reading chats or messages without services/policies; use the policy, "
                             "or add them to EXCEPTIONS with the reason:\n" + "\n".join(unexplained))
    stale = sorted(set(EXCEPTIONS) - {s.unit for s in found})
    assert not stale, f"EXCEPTIONS that no longer apply (remove them): {stale}"


def test_resolvers_and_schema_apply_no_rule():
    """No query on chats or messages in resolvers/ or schema/, policed or not: they call services
    (the loaders of a readable message's attachments, mentions and references: keyed by message ids
    the viewer reached through the message policy)."""
    for module, source in _application_modules():
        if module.split(".")[0] in ("resolvers", "schema"):
            tree = ast.parse(source)
            found = [text for _, text in _statements_in(tree, _docstrings(tree))
                     if text.split(".")[0] not in MODELS - {"Chat", "Message"}]
            assert not found, module


def test_the_scan_finds_a_new_statement_without_the_policy():
    source = '''
from models import Chat, Message
from services.policies.chats import visible_chats

SQL = "SELECT m.text FROM message m WHERE m.chat_id = $1"
_POLICED = "SELECT c.id FROM chat c"

async def leaky(viewer, chat_id):
    return await Message.filter(chat_id=chat_id)

async def raw(tx):
    return await rows(tx, SQL)

async def fine(viewer):
    return await visible_chats(viewer).filter(id=1), _POLICED

def _helper():
    return Chat.filter(id=1)

async def uses_helper(viewer):
    return visible_chats(viewer), _helper()
'''
    found = {s.unit for s in unpoliced({"example": source})}
    assert found == {"example:leaky", "example:SQL"}
