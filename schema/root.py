"""The root types: the entry points of every domain (schema/roots/), merged.

A domain adds its own `XQuery` / `XMutation` / `XSubscription` in schema/roots/<domain>.py and
lists them here.
"""
from strawberry.tools import merge_types

from schema.automation.root import AutomationMutation, AutomationQuery
from schema.contact_center.root import ContactCenterMutation, ContactCenterQuery
from schema.contact_center.wallboard import WallboardSubscription
from schema.chats.presence import PresenceQuery, PresenceSubscription
from schema.chats.root import CoreMutation, CoreQuery, CoreSubscription
from schema.messaging.root import MessagingMutation, MessagingQuery

Query = merge_types("Query", (CoreQuery, ContactCenterQuery, MessagingQuery, AutomationQuery, PresenceQuery,))
Mutation = merge_types("Mutation", (CoreMutation, ContactCenterMutation, MessagingMutation, AutomationMutation,))
Subscription = merge_types("Subscription", (CoreSubscription, PresenceSubscription, WallboardSubscription,))
