"""One action on many chats (finish, transfer, priority, labels, spam): each chat goes through the
same use case as the single action, in its own transaction, with its own result. A failure on one
chat (not found, forbidden, in the wrong state) leaves the others done; bad input for the whole
request (too many chats, a missing argument, an unknown label) is refused before any chat changes."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from models import Chat, ChatPriority
from services.chats import chats, labels, priorities
from services.common.errors import DomainError, InvalidInput, Unauthenticated
from services.identity.viewer import Viewer, require_operator

#: the most chats one request may name
MAX_CHATS = 100


class BulkChatAction(str, Enum):
    FINISH = "FINISH"
    TRANSFER = "TRANSFER"
    SET_PRIORITY = "SET_PRIORITY"
    SET_LABELS = "SET_LABELS"
    MARK_SPAM = "MARK_SPAM"


@dataclass(frozen=True)
class BulkChatResult:
    """One chat's outcome: the chat as changed, or the error it failed with (the chat unchanged)."""
    chat_id: int
    chat: Chat | None = None
    error: DomainError | None = None


async def bulk_chat_action(
    viewer: Viewer, *, chat_ids: Sequence[int], action: BulkChatAction, operator_id: int | None = None,
    open_channel_id: int | None = None, priority: ChatPriority | None = None, label_ids: Sequence[int] | None = None,
) -> list[BulkChatResult]:
    """The results in the order of `chat_ids` (each chat once)."""
    require_operator(viewer)
    unique = list(dict.fromkeys(chat_ids))
    if not unique:
        raise InvalidInput("Name at least one chat.", field=["input", "chatIds"])
    if len(unique) > MAX_CHATS:
        raise InvalidInput(f"At most {MAX_CHATS} chats at once; {len(unique)} were given.", field=["input", "chatIds"])
    use_case = await _use_case(viewer, BulkChatAction(action), operator_id, open_channel_id, priority, label_ids)
    results = []
    for chat_id in unique:
        try:
            results.append(BulkChatResult(chat_id, chat=await use_case(chat_id)))
        except Unauthenticated:
            raise
        except DomainError as error:
            results.append(BulkChatResult(chat_id, error=error))
    return results


async def _use_case(viewer: Viewer, action: BulkChatAction, operator_id: int | None, open_channel_id: int | None,
                    priority: ChatPriority | None, label_ids: Sequence[int] | None
                    ) -> Callable[[int], Awaitable[Chat]]:
    """The single action's use case for one chat id, its arguments checked once for every chat."""
    def unused(value: Any, api_name: str) -> None:
        if value is not None:
            raise InvalidInput(f"{api_name} is not an argument of {action.value}.", field=["input", api_name])

    if action is not BulkChatAction.TRANSFER:
        unused(operator_id, "operatorId")
        unused(open_channel_id, "openChannelId")
    if action is not BulkChatAction.SET_PRIORITY:
        unused(priority, "priority")
    if action is not BulkChatAction.SET_LABELS:
        unused(label_ids, "labelIds")
    if action is BulkChatAction.FINISH:
        return lambda chat_id: chats.finish_chat(viewer, chat_id=chat_id)
    if action is BulkChatAction.MARK_SPAM:
        return lambda chat_id: chats.mark_chat_spam(viewer, chat_id=chat_id)
    if action is BulkChatAction.TRANSFER:
        if (operator_id is None) == (open_channel_id is None):
            raise InvalidInput("Give exactly one of operatorId and openChannelId.", field=["input", "operatorId"])
        return lambda chat_id: chats.transfer_chat(viewer, chat_id=chat_id, operator_id=operator_id,
                                                   open_channel_id=open_channel_id)
    if action is BulkChatAction.SET_PRIORITY:
        if priority is None:
            raise InvalidInput("SET_PRIORITY needs a priority.", field=["input", "priority"])
        chosen = priorities.parse_priority(priority, ["input", "priority"])
        return lambda chat_id: priorities.set_chat_priority(viewer, chat_id=chat_id, priority=chosen)
    if label_ids is None:
        raise InvalidInput("SET_LABELS needs labelIds (an empty list removes every label).", field=["input", "labelIds"])
    wanted = await labels.existing_label_ids(viewer, list(label_ids))  # NOT_FOUND before any chat changes
    return lambda chat_id: labels.set_chat_labels(viewer, chat_id=chat_id, label_ids=wanted)
