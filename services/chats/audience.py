"""Who follows a chat on their own chat list: what every change of a chat tells its operators."""
from __future__ import annotations

from models import Chat, ChatOffer, ChatParticipant
from services.events.events import UnitOfWork


async def audience(uow: UnitOfWork, chat: Chat) -> set[int]:
    """Operators whose own chat list shows this chat: responsible, participants, offered."""
    ids = set(await ChatParticipant.filter(chat_id=chat.id).using_db(uow.tx).values_list("operator_id", flat=True))
    ids |= set(await ChatOffer.filter(chat_id=chat.id).using_db(uow.tx).values_list("operator_id", flat=True))
    if chat.operator_id:
        ids.add(chat.operator_id)
    return ids
