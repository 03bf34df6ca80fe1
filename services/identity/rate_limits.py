"""The rate limits' rules, by name: what a use case's entry point counts before it runs.

The counting itself (per client IP or token, in memory or in Redis) is the edge's
(openchannels/rate_limits.py); it reaches the resolvers as `context.rate_limits`, an `IpLimits`
made per request. A limit of 0 in the settings switches a rule off.
"""
from __future__ import annotations

from typing import Protocol

LOGIN = "login"
START_VISITOR_CHAT = "start_visitor_chat"
VISITOR_TOKEN = "visitor_token"
OPERATOR_TOKEN = "operator_token"


class IpLimits(Protocol):
    async def check_ip(self, rule_name: str) -> None:
        """Count one call of the caller's IP under the rule; LIMIT_EXCEEDED when over its budget."""
