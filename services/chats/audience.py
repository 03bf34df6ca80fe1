"""Who follows a chat on their own chat list: what every change of a chat tells its operators."""
from __future__ import annotations

from typing import cast

from models import Chat, ChatOffer, ChatParticipant
from services.events.events import UnitOfWork


async def audience(uow: UnitOfWork, chat: Chat) -> set[int]:
    """Operators whose own chat list shows this chat: responsible, participants, offered."""
    # values_list(flat=True) is typed as tuples by Tortoise: the values are the ids
    ids = set(cast(list[int], await ChatParticipant.filter(chat_id=chat.id).using_db(uow.tx)
                   .values_list("operator_id", flat=True)))
    ids |= set(cast(list[int], await ChatOffer.filter(chat_id=chat.id).using_db(uow.tx)
                    .values_list("operator_id", flat=True)))
    if chat.operator_id:
        ids.add(chat.operator_id)
    return ids
