"""Enumerations stored in the database (as their string values)."""
from enum import Enum


class OperatorRole(str, Enum):
    OPERATOR = "OPERATOR"
    SUPERVISOR = "SUPERVISOR"
    ADMIN = "ADMIN"


class OperatorStatus(str, Enum):
    ONLINE = "ONLINE"
    AWAY = "AWAY"
    OFFLINE = "OFFLINE"


class QueueDistribution(str, Enum):
    EVENLY = "EVENLY"
    STRICT = "STRICT"
    ALL = "ALL"


class ChatKind(str, Enum):
    CUSTOMER = "CUSTOMER"
    INTERNAL = "INTERNAL"


class ChatStatus(str, Enum):
    QUEUED = "QUEUED"
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"
    SPAM = "SPAM"


class MessageAuthorKind(str, Enum):
    CLIENT = "CLIENT"
    OPERATOR = "OPERATOR"
    SYSTEM = "SYSTEM"


class ChatPriority(str, Enum):
    """The queue offers higher priorities first (then the oldest first)."""

    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class Weekday(str, Enum):
    """In Python's order: `list(Weekday)[date.weekday()]` is the date's weekday."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class NoAnswerRule(str, Enum):
    """What happens to a queued chat nobody answers within its channel's no-answer timeout."""

    KEEP_WAITING = "KEEP_WAITING"
    SEND_MESSAGE = "SEND_MESSAGE"
    TRANSFER = "TRANSFER"
    CLOSE = "CLOSE"


class ContactFields(str, Enum):
    """What a visitor is asked before their first message: their name and e-mail (the widget's form;
    startVisitorChat refuses a start without both when REQUIRED)."""

    NONE = "NONE"
    OPTIONAL = "OPTIONAL"
    REQUIRED = "REQUIRED"


class SlaTarget(str, Enum):
    """A service-level target of a chat (services/chats/sla.py)."""

    FIRST_RESPONSE = "FIRST_RESPONSE"
    NEXT_RESPONSE = "NEXT_RESPONSE"
    RESOLUTION = "RESOLUTION"
