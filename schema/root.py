"""The root types: the entry points of every domain (schema/roots/), merged.

A domain adds its own `XQuery` / `XMutation` / `XSubscription` in schema/roots/<domain>.py and
lists them here.
"""
from strawberry.tools import merge_types

from schema.roots.core import CoreMutation, CoreQuery, CoreSubscription

Query = merge_types("Query", (CoreQuery,))
Mutation = merge_types("Mutation", (CoreMutation,))
Subscription = merge_types("Subscription", (CoreSubscription,))
