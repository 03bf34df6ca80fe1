"""Tortoise models: tables and constraints, no behaviour. Migrations live in models/migrations."""
from models.chat import Chat, ChatOffer, ChatParticipant, ChatSkip, ReadMarker
from models.client import Client, VisitorSession
from models.enums import (
    ChatKind,
    ChatStatus,
    MessageAuthorKind,
    OperatorRole,
    OperatorStatus,
    QueueDistribution,
)
from models.event import Event
from models.message import Message
from models.open_channel import OpenChannel, QueueMember
from models.operator import ApiToken, Operator

__all__ = [
    "ApiToken", "Chat", "ChatKind", "ChatOffer", "ChatParticipant", "ChatSkip", "ChatStatus",
    "Client", "Event", "Message", "MessageAuthorKind", "OpenChannel", "Operator", "OperatorRole",
    "OperatorStatus", "QueueDistribution", "QueueMember", "ReadMarker", "VisitorSession",
]
