"""Tortoise models: tables and constraints, no behaviour. Migrations live in models/migrations."""
from models.chat import Chat, ChatOffer, ChatParticipant, ChatSkip, ReadMarker
from models.client import Client, VisitorSession
from models.crm import CrmClientLink, CrmCompany, CrmContact, CrmDeal, CrmLead
from models.sales import Order, OrderItem, Product
from models.enums import (
    ChatKind,
    ChatPriority,
    ChatStatus,
    ContactFields,
    MessageAuthorKind,
    OperatorRole,
    OperatorStatus,
    NoAnswerRule,
    QueueDistribution,
    SlaTarget,
    Weekday,
)
from models.canned_responses import CannedResponse
from models.connectors import Connector, ConnectorClient, ConnectorCursor, ConnectorInbound, ConnectorOutbox
from models.event import Event
from models.feed import FeedPost
from models.files import Attachment
from models.gifs import CatalogGif
from models.message import Message
from models.messaging import MessageMention, MessageReference
from models.open_channel import OpenChannel, QueueMember
from models.operator import ApiToken, Operator
from models.presence import OperatorConnection, ServerProcess
from models.persisted_operation import PersistedOperation
from models.rating import ChatRating
from models.timers import Timer
from models.tasks import Task, TaskStatus
from models.labels import ChatLabel, ClientAttribute, Label
from models.webhooks import Webhook, WebhookDelivery
from models.sla import ChatSla, SlaPolicy

__all__ = [
    "ApiToken", "Chat", "ChatKind", "ChatOffer", "ChatParticipant", "ChatSkip", "ChatStatus",
    "Client", "ContactFields", "Event", "Message", "MessageAuthorKind", "OpenChannel", "Operator", "OperatorRole",
    "OperatorStatus", "NoAnswerRule", "QueueDistribution", "QueueMember", "ReadMarker", "VisitorSession",
    # messaging (issue 3)
    "Attachment", "CannedResponse", "CatalogGif", "FeedPost", "MessageMention", "MessageReference", "Task",
    "TaskStatus",
    # contact center (issue 4)
    "CrmClientLink", "CrmCompany", "CrmContact", "CrmDeal", "CrmLead", "Order", "OrderItem", "Product",
    # queue automation (issue 5)
    "ChatRating", "Connector", "ConnectorClient", "ConnectorCursor", "ConnectorInbound", "ConnectorOutbox", "Timer",
    # trusted documents (issue 17)
    "PersistedOperation",
    # live views (issue 16)
    "ChatPriority", "OperatorConnection", "ServerProcess",
    # labels, client attributes (issue 20)
    "ChatLabel", "ClientAttribute", "Label",
    # working hours, identity (issue 19)
    "Weekday",
    # outbound webhooks (issue 20)
    "Webhook", "WebhookDelivery",
    # service levels (issue 19)
    "ChatSla", "SlaPolicy", "SlaTarget",
]
