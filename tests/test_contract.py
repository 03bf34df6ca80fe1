"""The exported schema is current, and the contract's foundation part has no gap."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema import schema

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT.parent / "shared" / "tools" / "check_contract.py"

#: the names the foundation delivers (types whole, and these root fields)
FOUNDATION_TYPES = ["Node", "PageInfo", "UserError", "UserErrorCode", "OperatorRole", "OperatorStatus", "Operator",
                    "Me", "OperatorPreferences", "QueueDistribution", "OpenChannel", "Chat", "ChatKind",
                    "ChatStatus", "MyChats", "Message", "MessageAuthorKind", "QueueEvent", "QueueEventKind",
                    "ChatEvent", "ChatEventKind", "ChatPayload", "MessagePayload", "OperatorPayload",
                    "PreferencesPayload", "OpenChannelPayload", "LoginPayload", "StartVisitorChatPayload",
                    "ChatInput", "RenameChatInput", "TransferChatInput", "AddChatParticipantsInput", "PinChatInput",
                    "SendMessageInput", "UpdatePreferencesInput", "SetStatusInput", "LoginInput",
                    "CreateOperatorInput", "CreateOpenChannelInput", "UpdateOpenChannelInput",
                    "StartVisitorChatInput", "SendVisitorMessageInput", "Subscription"]
FOUNDATION_FIELDS = ["Client.name", "Client.email", "Client.phone", "Client.id"] + [
    f"Query.{f}" for f in ("node", "me", "operators", "openChannels", "chat", "myChats", "visitorChat")
] + [f"Mutation.{f}" for f in (
    "login", "createOperator", "createOpenChannel", "updateOpenChannel", "setStatus", "updatePreferences",
    "startVisitorChat", "sendVisitorMessage", "answerChat", "skipChat", "transferChat", "interceptChat",
    "renameChat", "markChatSpam", "finishChat", "pinChat", "addChatParticipants", "markChatRead", "sendMessage")]


def test_committed_schema_is_the_exported_one():
    assert (ROOT / "schema.graphql").read_text() == str(schema).rstrip("\n") + "\n", \
        "schema.graphql is stale: run `openchannels export-schema` and commit it"


def test_foundation_part_of_the_contract_has_no_gap():
    out = subprocess.run([sys.executable, str(CHECKER), str(ROOT / "schema.graphql")],
                         capture_output=True, text=True, check=False).stdout
    gaps = [line for line in out.splitlines() if not line.startswith("contract gaps:")]
    assert "contract gaps:" in out, out  # it read both schemas
    mine = [g for g in gaps
            if any(f" {t}." in g or f" {t} " in g or g.endswith(f" {t}") for t in FOUNDATION_TYPES)
            or any(f"{f} " in g or g.endswith(f) for f in FOUNDATION_FIELDS)]
    assert mine == [], "\n".join(mine)
