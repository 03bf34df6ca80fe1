"""The GraphQL schema: types, inputs and enums by domain; the root types in schema/root.py."""
from __future__ import annotations

import strawberry

from schema.chat import Chat, ChatConnection
from schema.client import Client
from schema.error_policy import ErrorPolicy
from schema.message import Message
from schema.open_channel import OpenChannel
from schema.operator import Operator
from schema.root import Mutation, Query, Subscription


class _Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """ErrorPolicy logs what is unexpected; expected errors are not noise in the log."""


schema = _Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[Chat, ChatConnection, Client, Message, OpenChannel, Operator],
    extensions=[ErrorPolicy],
)

__all__ = ["schema"]
