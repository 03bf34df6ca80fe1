"""The conversations list is one hand-written statement (services/contact_center/conversations.py): its
visibility rule (services/access.visible_chats_sql) must select exactly the chats of
`visible_chats`, the ORM rule every other path uses, for every kind of viewer."""
from __future__ import annotations

import pytest
from tortoise import connections

from models import Chat, ChatOffer, ChatParticipant, OperatorRole
from services.common import raw_sql
from services.policies.chats import visible_chats, visible_chats_sql
from services.chats.chat_relations import ids_inline, numbered
from services.common.errors import Unauthenticated
from services.identity.viewer import ANONYMOUS
from tests.factories import make_open_channel, make_operator, start_chat


async def _ids_by_sql(viewer, placeholders=numbered) -> set[int]:
    values: list = []
    condition = visible_chats_sql(viewer, placeholders(values))
    rows = await raw_sql.records(connections.get("default"), f"SELECT c.id FROM chat c WHERE {condition or '1 = 1'}",
                                 *values)
    return {row["id"] for row in rows}


async def test_the_sql_rule_selects_the_chats_of_the_orm_rule_for_every_viewer(db):
    member, member_v = await make_operator()
    outsider, outsider_v = await make_operator()
    participant, participant_v = await make_operator()
    offered, offered_v = await make_operator()
    responsible, responsible_v = await make_operator()
    _, supervisor_v = await make_operator(role=OperatorRole.SUPERVISOR)
    mine = await make_open_channel([member])
    other = await make_open_channel([outsider])
    in_mine, visitor_v, _ = await start_chat(mine, name="In mine")
    joined, _, _ = await start_chat(other, name="Joined")
    offered_chat, _, _ = await start_chat(other, name="Offered")
    owned, _, _ = await start_chat(other, name="Owned")
    await ChatParticipant.create(chat_id=joined.id, operator_id=participant.id)
    await ChatOffer.create(chat_id=offered_chat.id, operator_id=offered.id)
    await Chat.filter(id=owned.id).update(operator_id=responsible.id)

    expected = {
        "member": {in_mine.id}, "outsider": {joined.id, offered_chat.id, owned.id}, "participant": {joined.id},
        "offered": {offered_chat.id}, "responsible": {owned.id},
        "supervisor": {in_mine.id, joined.id, offered_chat.id, owned.id}, "visitor": {in_mine.id},
    }
    viewers = {"member": member_v, "outsider": outsider_v, "participant": participant_v, "offered": offered_v,
               "responsible": responsible_v, "supervisor": supervisor_v, "visitor": visitor_v}
    for name, viewer in viewers.items():
        by_orm = set(await visible_chats(viewer).values_list("id", flat=True))
        assert by_orm == expected[name], name
        assert await _ids_by_sql(viewer) == by_orm, name
        assert await _ids_by_sql(viewer, ids_inline) == by_orm, name  # the ids written in: the same chats


async def test_without_a_token_both_rules_refuse(db):
    with pytest.raises(Unauthenticated):
        visible_chats(ANONYMOUS)
    with pytest.raises(Unauthenticated):
        visible_chats_sql(ANONYMOUS, numbered([]))


async def test_a_search_filter_matches_titles_client_names_and_messages_literally(db):
    """services/search.chats_matching_sql: title or client name contains the text in any case
    (`%` and `_` literally), or a message holds every word."""
    from services.contact_center import conversations

    member, member_v = await make_operator()
    channel = await make_open_channel([member])
    await start_chat(channel, "where is my parcel", name="O'Brien")
    await start_chat(channel, "hello", name="Someone else")
    page = await conversations.conversations(
        member_v, filter=conversations.ConversationFilter(search="parcel", statuses=list(conversations.ChatStatus)))
    assert [row.title for row in page.rows] == ["O'Brien"] and page.total_count == 1
    page = await conversations.conversations(member_v, filter=conversations.ConversationFilter(search="o'brien"))
    assert [row.title for row in page.rows] == ["O'Brien"] and page.total_count == 1
    await start_chat(channel, "hi", name="100% Cotton_Ltd")
    cases = (("100%", ["100% Cotton_Ltd"]), ("n_l", ["100% Cotton_Ltd"]), ("n%l", []), ("%", ["100% Cotton_Ltd"]),
             ("SOMEONE", ["Someone else"]))
    for text, titles in cases:
        page = await conversations.conversations(member_v, filter=conversations.ConversationFilter(search=text))
        assert [row.title for row in page.rows] == titles, text
