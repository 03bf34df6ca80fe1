"""The conversations filter's label, priority and service-level rules, each written once as a `Condition`
(services/policies/conditions.py): the hand-written statement of the conversations list takes
their SQL, an ORM query their `Q` (`filtered`), and tests/contact_center/test_labels_filter.py
checks both select the same chats on both databases."""
from __future__ import annotations

from collections.abc import Sequence

from tortoise.queryset import QuerySet

from models import Chat, ChatLabel, ChatPriority, ChatSla
from services.policies.conditions import EVERYTHING, AllOf, Condition, InRows, InRowsOneOf, Not, OneOf, apply


def with_any_label(label_ids: Sequence[int]) -> Condition:
    """Chats carrying at least one of these labels (none given: no chat)."""
    return InRowsOneOf("id", ChatLabel, "chat_id", "label_id", tuple(dict.fromkeys(label_ids)))


def with_priority(priorities: Sequence[ChatPriority]) -> Condition:
    """Chats of any of these priorities (none given: no chat)."""
    return OneOf("priority", tuple(dict.fromkeys(ChatPriority(p).value for p in priorities)))


def with_sla_breached(breached: bool) -> Condition:
    """Chats that missed a service-level target (true), or every other chat (false: those that kept
    every target, and those without service levels): services/chats/sla.py."""
    missed = InRows("id", ChatSla, "chat_id", (("breached", True),))
    return missed if breached else Not(missed)


def narrowing(label_ids: Sequence[int] | None, priorities: Sequence[ChatPriority] | None,
              sla_breached: bool | None = None) -> Condition:
    """The label, priority and service-level parts of a filter (a None part does not narrow), ANDed."""
    parts = []
    if label_ids is not None:
        parts.append(with_any_label(label_ids))
    if priorities is not None:
        parts.append(with_priority(priorities))
    if sla_breached is not None:
        parts.append(with_sla_breached(sla_breached))
    if not parts:
        return EVERYTHING
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def filtered(query: QuerySet[Chat], label_ids: Sequence[int] | None,
             priorities: Sequence[ChatPriority] | None, sla_breached: bool | None = None) -> QuerySet[Chat]:
    """An ORM query of chats narrowed by the same rule the conversations statement renders."""
    return apply(query, narrowing(label_ids, priorities, sla_breached))
