"""Every statement that reads a policed entity takes its condition from that entity's policy
(services/policies).

An AST scan of the application packages finds the statements: hand-written SQL (string literals
with `FROM chat`, `JOIN message`, `JOIN operator`...) and Tortoise queries on the models of each
policy (Chat, Message and the rows read with them; CannedResponse, Task, FeedPost, Order, Product,
the CRM's, Connector, Operator, OpenChannel...). A statement is policed when the function it is
written in refers to ITS entity's policy module (`POLICIES`: a CannedResponse read must use
services/policies/canned_responses.py, the chat policy does not do), directly or through a policed
function it calls; a private helper or a module constant takes the policies every function of its
module using it has. Every other statement must be in EXCEPTIONS with the reason: a new statement
without its policy fails this test, and so does an exception that no longer applies. The policy
package itself is where the rules are written: it is not scanned.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "resolvers", "schema", "openchannels")
POLICY_PACKAGE = "services.policies"

#: the chat and message policies, and those made from them: a chat's or a message's rows take any of them
CHAT_FAMILY = frozenset({"chats", "messages", "attachments", "clients", "statistics", "copy_audience"})
#: model -> the policy modules (services/policies/<name>.py) its reads must take their condition from
POLICIES: dict[str, frozenset[str]] = {
    **{model: CHAT_FAMILY for model in ("Chat", "Message", "Attachment", "MessageReference", "MessageMention")},
    "CannedResponse": frozenset({"canned_responses"}),
    "Task": frozenset({"tasks"}),
    "FeedPost": frozenset({"feed_posts"}),
    "Order": frozenset({"orders"}),
    "OrderItem": frozenset({"orders"}),
    "Product": frozenset({"products"}),
    **{model: frozenset({"crm"}) for model in ("CrmCompany", "CrmContact", "CrmDeal", "CrmLead", "CrmClientLink")},
    **{model: frozenset({"connectors"}) for model in ("Connector", "ConnectorClient", "ConnectorInbound",
                                                       "ConnectorOutbox", "ConnectorCursor")},
    "Operator": frozenset({"operators"}),
    "OpenChannel": frozenset({"open_channels"}),
    # queue membership is a chat relation too (an operator's chats are their queues')
    "QueueMember": frozenset({"open_channels", "chats"}),
    # labels are every operator's; a chat's labels are read through its chat
    "Label": frozenset({"labels"}),
    "ChatLabel": frozenset({"labels"}),
    "ClientAttribute": frozenset({"clients"}),
    **{model: frozenset({"webhooks"}) for model in ("Webhook", "WebhookDelivery")},
    # SLA policies are every operator's; a chat's service levels are read through its chat (sla_policies too)
    "SlaPolicy": frozenset({"sla_policies"}),
}
MODELS = set(POLICIES)
#: table -> model, for the hand-written SQL (the keywords upper case, as every statement here is written)
TABLES = {"chat": "Chat", "message": "Message", "operator": "Operator", "open_channel": "OpenChannel"}
SQL_READ = re.compile(r"\b(?:FROM|JOIN)\s+(" + "|".join(TABLES) + r")\b(?!_)")
READS = {"filter", "all", "get", "get_or_none", "exclude", "first", "raw", "annotate", "exists", "in_bulk",
         "select_for_update", "values", "values_list", "count", "get_or_create"}

#: "module:function" -> why its statements do not take a viewer's condition
EXCEPTIONS: dict[str, str] = {
    # the system: no viewer, every chat (timers, the queue's distribution, connectors, payments, the demo)
    "services.automation.connector_outbox:_deliver_connector": "relays one visible client message (checked: silent raises)",
    "services.automation.connector_outbox:backlog": "the relay's backlog age: a system figure",
    "services.automation.connector_outbox:relay": "relays operators' visible messages (silent=False) to connectors",
    "services.automation.webhook_delivery:payload": "the actor's name, the message, the chat's labels and its "
                                                    "client's attributes of an event the webhook receives "
                                                    "(events policy webhook_receives: no silent note unless "
                                                    "includeSilentNotes)",
    "services.automation.webhook_delivery:deliver": "the scheduler's due webhooks (system read)",
    "services.automation.webhook_delivery:_deliver_webhook": "the scheduler leases and reads one webhook (system)",
    "services.automation.webhook_delivery:_failed": "the scheduler records a failed attempt (system)",
    "services.automation.webhook_delivery:_acknowledged": "the scheduler records an acknowledged attempt (system)",
    "services.automation.webhook_delivery:_advance": "the scheduler moves a webhook's cursor (system)",
    "services.automation.webhook_delivery:_waiting": "the scheduler's events waiting in held chats (system)",
    "services.automation.webhook_delivery:_held_due": "the scheduler's held chats due (system)",
    "services.automation.webhook_delivery:_wait": "the scheduler puts an event behind its held chat (system)",
    "services.automation.webhook_delivery:_still_failing": "the scheduler recomputes a webhook's failing (system)",
    "services.automation.webhook_delivery:Round.held_chats": "the scheduler sends a held chat's events (system)",
    "services.automation.webhook_delivery:Lease.renew": "the scheduler renews its lease on a webhook (system)",
    "services.automation.webhook_delivery:Lease.release": "the scheduler releases its lease on a webhook (system)",
    "services.automation.connectors:take_in": "an inbound connector message: the chat of the identity's client",
    "services.automation.timeouts:auto_close_chat": "the scheduler closes a chat by id (system read)",
    "services.automation.timeouts:due_auto_closes": "the scheduler's due chats (system read)",
    "services.automation.timeouts:expire_offer": "the scheduler expires an offer by chat id (system read)",
    "services.automation.timeouts:offer_at_opening": "the scheduler offers a chat by id when its channel opens "
                                                     "(system read)",
    "services.automation.timeouts:no_answer": "the scheduler applies the no-answer rule to a chat by id (system read)",
    "services.automation.timeouts:sla_due": "the scheduler fires a chat's service-level timer by chat id (system read)",
    "services.chats.sla:start": "the SLA policy of the channel a new chat starts in (system read)",
    "services.chats.sla:hours_changed": "an admin's new working hours move the service-level clocks of the "
                                        "chats of that channel (system read, nothing shown)",
    "services.chats.no_answer:apply_rule": "the no-answer rule moves a chat to its channel's configured target "
                                           "(system read)",
    "services.chats.no_answer:check_settings": "the target channel an admin names in a channel's no-answer rule "
                                               "exists (admins configure every channel)",
    "services.chats.no_answer:start_waiting": "marks when a chat the use case holds starts waiting for the rule "
                                              "(system write by id)",
    "services.chats.no_answer:settings_changed": "an admin's new channel settings move the no-answer timers of "
                                                 "the chats waiting in that channel (system read, nothing shown)",
    "services.chats.waiting:queue_positions": "a chat's place in its queue: a count, nothing of the chats ahead "
                                              "is shown (the chat itself was read through the policy)",
    "services.chats.waiting:median_waits": "a channel's median answer wait: a figure, no chat is shown",
    "services.chats.waiting:channel_queue": "the places of a channel's waiting chats: each visitor is sent "
                                            "their own chat's place only (queue_standing: the chat read "
                                            "through the policy)",
    "services.contact_center.wallboard:queue_figures": "a queue's live counts (queued, active, members ONLINE and "
                                                       "AWAY), computed once per process for every watcher: no chat "
                                                       "or operator is shown; who may watch which channel is "
                                                       "open_channels.wallboard_channel_ids",
    "services.chats.after_hours:tell_if_closed": "marks the after-hours message sent on the chat the client "
                                                 "writes in (a conditional write, system)",
    "services.chats.chat_states:transition": "the conditional UPDATE of a chat the caller already read through the policy",
    "services.chats.operators:active_chat_counts": "a count per operator (load), no chat is shown",
    "services.chats.queue:eligible_members": "the queue's distribution counts active chats (system read)",
    "services.chats.queue:offer_waiting_chats": "the queue's distribution offers waiting chats (system read)",
    "services.chats.queue:pass_on_offers_of": "the queue's distribution passes offers on (system read)",
    "services.chats.open_channels:_look_again_at_waiting_chats": "an admin changed a channel's hours: its "
                                                                 "waiting chats' timers (system)",
    "services.chats.visitors:_open_chat_of": "the open chat of the client a visitor's identity hash proves "
                                             "(no viewer yet: the visitor token is being made)",
    "services.chats.visitors:start_visitor_chat": "the chat this visitor's first message just opened",
    "services.contact_center.sales:handle_payment_notification": "a signed payment webhook: no viewer",
    "services.demo:seed_demo": "the demo's seed data (CLI, no viewer)",
    # parts of a statement whose visibility condition the caller adds
    "services.contact_center.search:chats_matching_sql": "a search condition ANDed with visible_chats_sql "
                                                         "(conversations._conditions)",
    "services.contact_center.search:matching_messages": "a search condition ANDed with readable_messages or "
                                                        "chats_of_client (search_in's callers)",
    "services.messaging.files:attach_uploads": "the caller's own uploads to a chat checked by operator_chat",
    # operators, open channels and connectors read by the system, or with no viewer yet
    "openchannels.cli.demo:prepare_demo": "the demo's admin (CLI, no viewer)",
    "services.automation.connector_outbox:deliver": "the relay's outbox (system read)",
    "services.automation.connectors:_identity": "an inbound connector message: its outside user's client "
                                                "(authenticated by the connector's secret, no viewer)",
    "services.automation.connectors:receive": "an inbound request names its connector, then its adapter "
                                              "authenticates it with the connector's secret (no viewer)",
    "services.chats.chats:_ensure_capacity": "locks the answering operator's row (the capacity check)",
    "services.chats.chats:_transfer_target": "the channel a chat the caller may act on is transferred to "
                                             "(any channel may be named)",
    "services.chats.operators:register_operator": "the e-mail's uniqueness (admin mutation and CLI)",
    "services.chats.operators:change_status": "the status of the operator set_status's caller is (policy.myself) "
                                              "or the presence rule changes (system)",
    "services.chats.presence:_lock_operator": "the presence rule locks the row of the operator whose connection "
                                              "or status it changes (system)",
    "services.chats.presence:_drop_connections": "the last-seen time of the operator whose connection closed (system)",
    "services.chats.presence:connection_opened": "the last-seen time of the operator whose connection opened (system)",
    "services.chats.presence:sweep": "the presence rule's ONLINE operators gone past the grace time (system read)",
    "services.chats.queue:channel_of": "the channel of a chat being distributed (system read)",
    "services.chats.queue:offer_chat": "the queue's distribution updates its members' turns (system)",
    "services.chats.visitors:open_customer_chat": "the channel of the chat this visitor or connector opens",
    "services.identity.auth:_OPERATOR_TOKEN": "the operator of a bearer token (no viewer yet: it makes one)",
    "services.identity.auth:login": "the operator signing in (no viewer yet)",
    "services.identity.token_revocation:revoke_operator_tokens": "the operator whose tokens an admin revokes "
                                                                 "(identity, under the policies: its own admin check)",
    "services.messaging.canned_responses:fill_placeholders": "the name of the channel of a chat the caller sees "
                                                             "(send_canned_response: operators/open_channels `named`)",
    "services.chats.chat_relations:_JOINS": "the responsible's and the channel's names of chats read through "
                                            "visible_chats_sql (operators/open_channels `named`: every one)",
    "services.chats.reads:_my_chats_sql": "the caller's own preference row (o.id = the caller)",
    "services.chats.chats:auto_close_deadline_sql": "the auto-close setting of the channel of the chat an UPDATE "
                                                    "changes (sendMessage: its roles checked before any use)",
}


@dataclass(frozen=True)
class Statement:
    unit: str
    line: int
    text: str
    #: the model read (the table's model for SQL)
    model: str = "Chat"


def _policy_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> the policy module it comes from (`from services.policies import tasks as p`: p -> tasks;
    `from services.policies.chats import visible_chats`: visible_chats -> chats)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == POLICY_PACKAGE:
            names |= {alias.asname or alias.name: alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(POLICY_PACKAGE + "."):
            policy = node.module[len(POLICY_PACKAGE) + 1:].split(".")[0]
            names |= {alias.asname or alias.name: policy for alias in node.names}
    return names


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _model_named(node: ast.AST) -> str | None:
    """`Chat` or `models.Chat`: the model's name, if it is one of MODELS."""
    if isinstance(node, ast.Name) and node.id in MODELS:
        return node.id
    if isinstance(node, ast.Attribute) and node.attr in MODELS and isinstance(node.value, ast.Name) \
            and node.value.id == "models":
        return node.attr
    return None


def _statements_in(node: ast.AST, docstrings: set[int]) -> list[tuple[int, str, str]]:
    """(line, text, model) of each statement."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and id(sub) not in docstrings:
            for table in dict.fromkeys(SQL_READ.findall(sub.value)):
                found.append((sub.lineno, sub.value[:60], TABLES[table]))
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in READS \
                and (model := _model_named(sub.func.value)):
            found.append((sub.lineno, f"{model}.{sub.func.attr}", model))
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
    """The statements of these modules (name -> source) that do not take their condition from their policy.

    A unit (function, method, module constant) has the policies whose names it uses, and those of
    the units it uses (of its module, or imported by name from another); a private helper or a
    constant has those every unit of its module using it has. A statement is policed when its
    unit has one of its model's POLICIES."""
    trees = {module: ast.parse(source) for module, source in modules.items()}
    units = {module: _units(tree) for module, tree in trees.items()}
    uses = {f"{module}:{name}": _names_used(node) for module in trees for name, node in units[module].items()}
    policy = {module: _policy_names(tree) for module, tree in trees.items()}
    imported = {module: _imported(tree) for module, tree in trees.items()}
    has: dict[str, set[str]] = {unit: {policy[unit.split(":")[0]][n] for n in used if n in policy[unit.split(":")[0]]}
                                for unit, used in uses.items()}
    by_short = {module: {name.split(".")[-1]: f"{module}:{name}" for name in units[module]} for module in trees}
    changed = True
    while changed:
        changed = False
        for unit, used in uses.items():
            module, name = unit.split(":")
            short = name.split(".")[-1]
            got = set(has[unit])
            for n in used:
                callee = by_short[module].get(n) if n != short else None
                callee = callee or imported[module].get(n)
                if callee in has:
                    got |= has[callee]
            users = [other for other, u in uses.items() if other != unit and other.startswith(module + ":")
                     and short in u]
            if (short.startswith("_") or short.isupper()) and users:
                got |= set.intersection(*(has[u] for u in users))
            if got != has[unit]:
                has[unit] = got
                changed = True
    found = []
    for module, tree in trees.items():
        docstrings = _docstrings(tree)
        for name, node in units[module].items():
            unit = f"{module}:{name}"
            found += [Statement(unit, line, text, model) for line, text, model in _statements_in(node, docstrings)
                      if not has[unit] & POLICIES[model]]
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
    unexplained = sorted({f"{s.unit} (line {s.line}: {s.text!r}; policy: {'/'.join(sorted(POLICIES[s.model]))})"
                          for s in found if s.unit not in EXCEPTIONS})
    assert not unexplained, ("statements reading a policed entity without its policy (services/policies); use it, "
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
            found = [text for _, text, model in _statements_in(tree, _docstrings(tree))
                     if model not in {"Attachment", "MessageReference", "MessageMention"}]
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


def test_a_statement_takes_its_own_entitys_policy():
    """Another entity's policy does not police a read: a canned response read next to the chat policy
    is found; through the canned-response policy (directly, or a policed function of another module
    imported by name), it is not."""
    service = '''
from models import CannedResponse, Chat, OpenChannel
from services.policies.chats import visible_chats
from services.policies import canned_responses as policy

async def wrong_policy(viewer):
    return await visible_chats(viewer), await CannedResponse.filter(id=1)

async def right_policy(viewer):
    return await policy.visible(viewer), await CannedResponse.get(id=1)

def _only_for(viewer):
    return models.OpenChannel.filter(id=1)

async def canned(viewer):
    return policy.readable(viewer), _only_for(viewer)
'''
    caller = '''
from models import CannedResponse
from example import right_policy

async def through(viewer):
    return await right_policy(viewer), await CannedResponse.all()
'''
    caller = caller.replace("from example", "from services.example")
    found = {(s.unit, s.model) for s in unpoliced({"services.example": service, "services.caller": caller})}
    assert found == {("services.example:wrong_policy", "CannedResponse"),
                     ("services.example:_only_for", "OpenChannel")}
