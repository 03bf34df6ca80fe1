"""Who may send a typing signal in a chat, and who receives one.

A typing signal announces a message, so it follows the message's rules
(services/policies/messages.py): it is received in a chat the viewer may see
(services/policies/chats.py: the subscription checks it), and the signal of a silent note
(`silent`) is read like a silent note, by operators only, never by a visitor. A visitor receives
the operators' signals (their own is their own); an operator everyone's but their own.

Sending is writing: an operator types where they may write (sendMessage's `can_write`: the
responsible, a participant, a supervisor); a visitor in their own chat.
"""
from __future__ import annotations

from models import Chat, MessageAuthorKind
from services.identity.viewer import Viewer, require_operator
from services.policies import chats as chat_policy
from services.policies import messages as message_policy


def can_receive(viewer: Viewer, *, author_kind: str, operator_id: int | None, silent: bool) -> bool:
    """Whether the viewer, who may see the signal's chat, receives this typing signal."""
    if not message_policy.can_read_text(viewer, silent=silent):
        return False
    if viewer.is_visitor:
        return author_kind == MessageAuthorKind.OPERATOR.value
    return not (author_kind == MessageAuthorKind.OPERATOR.value and operator_id == viewer.operator_id)


async def chat_to_type_in(viewer: Viewer, chat_id: int) -> Chat:
    """The chat an operator types in: NOT_FOUND if they may not see it, FORBIDDEN if they may not write in it."""
    require_operator(viewer)
    chat = await chat_policy.get_visible_chat(viewer, chat_id)
    roles = await chat_policy.roles_in_chat(viewer, chat)
    chat_policy.ensure(roles.can_write, "Only the chat's operators can write in it; answer it or ask to be added.")
    return chat
