"""Each rule of services/policies is written once and read two ways: as a Tortoise `Q` (the ORM
queries) and as SQL (the hand-written statements). Both must select the same rows for every kind
of viewer, on SQLite and PostgreSQL; and the roles of one chat (sendMessage's statement, the ORM
checks of one chat) must agree with the visibility of the whole table."""
from __future__ import annotations

import pytest
from tortoise import connections

from models import Chat, ChatOffer, ChatParticipant, Message, MessageAuthorKind, Operator, OperatorRole
from services.chats.chat_relations import numbered
from services.common import raw_sql
from services.common.errors import Unauthenticated
from services.identity.viewer import ANONYMOUS
from services.policies import chats as chat_policy, messages as message_policy, operators as operator_policy
from services.policies.conditions import EVERYTHING, AllOf, Equals, render
from tests.factories import make_open_channel, make_operator, start_chat


async def _ids_by_sql(table: str, condition, alias: str = "c") -> set[int]:
    values: list = []
    where = render(condition, alias, numbered(values))
    rows = await raw_sql.records(connections.get("default"),
                                 f"SELECT {alias}.id FROM \"{table}\" {alias} WHERE {where or '1 = 1'}", *values)
    return {row["id"] for row in rows}


async def _world():
    member, member_v = await make_operator()
    outsider, outsider_v = await make_operator()
    participant, participant_v = await make_operator()
    offered, offered_v = await make_operator()
    responsible, responsible_v = await make_operator()
    _, supervisor_v = await make_operator(role=OperatorRole.SUPERVISOR)
    _, admin_v = await make_operator(role=OperatorRole.ADMIN)
    mine = await make_open_channel([member])
    other = await make_open_channel([outsider])
    in_mine, visitor_v, _ = await start_chat(mine, name="In mine")
    joined, other_visitor_v, _ = await start_chat(other, name="Joined")
    offered_chat, _, _ = await start_chat(other, name="Offered")
    owned, _, _ = await start_chat(other, name="Owned")
    await ChatParticipant.create(chat_id=joined.id, operator_id=participant.id)
    await ChatOffer.create(chat_id=offered_chat.id, operator_id=offered.id)
    await Chat.filter(id=owned.id).update(operator_id=responsible.id)
    for chat in (in_mine, joined, offered_chat, owned):
        await Message.create(chat_id=chat.id, author_kind=MessageAuthorKind.OPERATOR, author_id=member.id,
                             text="a silent note", silent=True)
    viewers = {"member": member_v, "outsider": outsider_v, "participant": participant_v, "offered": offered_v,
               "responsible": responsible_v, "supervisor": supervisor_v, "admin": admin_v, "visitor": visitor_v,
               "other_visitor": other_visitor_v}
    expected = {
        "member": {in_mine.id}, "outsider": {joined.id, offered_chat.id, owned.id}, "participant": {joined.id},
        "offered": {offered_chat.id}, "responsible": {owned.id},
        "supervisor": {in_mine.id, joined.id, offered_chat.id, owned.id},
        "admin": {in_mine.id, joined.id, offered_chat.id, owned.id}, "visitor": {in_mine.id},
        "other_visitor": {joined.id},
    }
    return viewers, expected


async def test_the_chat_rule_selects_the_same_chats_as_q_and_as_sql_for_every_viewer(db):
    viewers, expected = await _world()
    for name, viewer in viewers.items():
        rule = chat_policy.readable(viewer)
        by_orm = set(await Chat.filter(rule.q()).values_list("id", flat=True))
        assert by_orm == expected[name], name
        assert set(await chat_policy.visible_chats(viewer).values_list("id", flat=True)) == by_orm, name
        assert await _ids_by_sql("chat", rule) == by_orm, name
        assert await chat_policy.readable_chat_ids(viewer, sorted(expected["supervisor"])) == by_orm, name


async def test_the_message_rule_selects_the_same_messages_as_q_and_as_sql_for_every_viewer(db):
    viewers, expected = await _world()
    every_chat = sorted(expected["supervisor"])
    for name, viewer in viewers.items():
        in_chat = message_policy.readable_in_chat(viewer)
        by_orm = set(await Message.filter(in_chat.q()).values_list("id", flat=True))
        assert await _ids_by_sql("message", in_chat, "m") == by_orm, name
        assert set(await message_policy.of_chats(viewer, every_chat).values_list("id", flat=True)) == by_orm, name
        readable = set(await message_policy.readable_messages(viewer).values_list("id", flat=True))
        in_visible = set(await Message.filter(chat_id__in=expected[name]).values_list("id", flat=True))
        assert readable == in_visible & by_orm, name
        notes = set(await Message.filter(silent=True).values_list("id", flat=True))
        if name.endswith("visitor"):
            assert not readable & notes and in_chat != EVERYTHING, name  # never a silent note
        else:
            assert notes & in_visible <= readable, name


async def test_the_roles_of_one_chat_agree_with_the_visibility_of_the_table(db):
    """roles_in_chat (ORM, one chat), sendMessage's roles statement (chat_policy.roles_sql) and
    the visibility rule are made from one list of relations: for every operator and every chat,
    `can_see` holds exactly for the visible chats."""
    viewers, expected = await _world()
    sql = chat_policy.roles_sql(chat="$1", channel="$2", me="$3")
    for name, viewer in viewers.items():
        if not viewer.is_operator:
            continue
        for chat in await Chat.all():
            by_orm = await chat_policy.roles_in_chat(viewer, chat)
            rows = await raw_sql.rows(connections.get("default"), sql, chat.id, chat.open_channel_id,
                                      viewer.operator_id)
            by_role: dict[str, set[int]] = {}
            for row in rows:
                by_role.setdefault(row["role"], set()).add(row["operator_id"])
            assert chat_policy.ChatRoles.of(viewer, chat, by_role) == by_orm, (name, chat.id)
            assert by_orm.can_see == (chat.id in expected[name]), (name, chat.id)


def test_without_a_token_the_rules_refuse():
    with pytest.raises(Unauthenticated):
        chat_policy.readable(ANONYMOUS)
    with pytest.raises(Unauthenticated):
        chat_policy.visible_chats_sql(ANONYMOUS, numbered([]))


def test_a_value_used_twice_is_one_placeholder_and_the_text_is_todays():
    """The hot statements keep the text they were written with (one `$n` for the operator)."""
    from services.identity.viewer import Viewer

    values: list = []
    text = chat_policy.visible_chats_sql(Viewer(operator_id=7), numbered(values))
    assert values == [7]
    assert text == ("(c.open_channel_id IN (SELECT open_channel_id FROM queue_member WHERE operator_id = $1) "
                    "OR c.operator_id = $1 OR c.id IN (SELECT chat_id FROM chat_participant WHERE operator_id = $1) "
                    "OR c.id IN (SELECT chat_id FROM chat_offer WHERE operator_id = $1))")
    assert render(AllOf((Equals("a", 1), Equals("b", True), Equals("c", 1))), "x", numbered(values := [])) == \
        "x.a = $1 AND x.b = $2 AND x.c = $1" and values == [1, True]
    assert chat_policy.roles_sql(chat="$1", channel="$2", me="$3") == (
        "SELECT 'participant' AS role, operator_id FROM chat_participant WHERE chat_id = $1 "
        "UNION ALL SELECT 'offered', operator_id FROM chat_offer WHERE chat_id = $1 "
        "UNION ALL SELECT 'member', operator_id FROM queue_member WHERE open_channel_id = $2 AND operator_id = $3")
    assert set(chat_policy.RELATIONS) | {"supervisor"} == set(chat_policy.ChatRoles.__dataclass_fields__)


async def _rows_of_other_entities():
    """Canned responses, tasks and orders around the chats of `_world`, for every kind of viewer."""
    from decimal import Decimal

    from models import CannedResponse, OpenChannel, Order, OrderItem, Product, Task

    viewers, expected = await _world()
    ops = {name: v.operator_id for name, v in viewers.items() if v.is_operator}
    mine = (await Chat.get(id=next(iter(expected["member"])))).open_channel_id
    other = await OpenChannel.exclude(id=mine).first()
    canned = {
        "member_personal": await CannedResponse.create(title="a", text="a", created_by_id=ops["member"]),
        "outsider_personal": await CannedResponse.create(title="b", text="b", created_by_id=ops["outsider"]),
        "supervisor_personal": await CannedResponse.create(title="c", text="c", created_by_id=ops["supervisor"]),
        "in_mine": await CannedResponse.create(title="d", text="d", created_by_id=ops["admin"], open_channel_id=mine),
        "in_other": await CannedResponse.create(title="e", text="e", created_by_id=ops["supervisor"],
                                                open_channel_id=other.id),
    }
    tasks = {
        "member_to_responsible": await Task.create(title="t", responsible_id=ops["responsible"],
                                                   created_by_id=ops["member"]),
        "outsider_own": await Task.create(title="u", responsible_id=ops["outsider"], created_by_id=ops["outsider"]),
    }
    product = await Product.create(name="p", price=Decimal("1.00"), currency="EUR")
    orders = {}
    for chat in await Chat.all():
        orders[chat.id] = await Order.create(chat_id=chat.id, total=Decimal("1.00"), currency="EUR", payment_url="")
        await OrderItem.create(order_id=orders[chat.id].id, product_id=product.id, quantity=1,
                               unit_price=Decimal("1.00"), amount=Decimal("1.00"))
    return viewers, expected, canned, tasks, orders


async def test_the_rules_of_canned_responses_tasks_and_orders_read_the_same_rows_every_way(db):
    """Each policy's condition selects the same rows as a Q and as SQL, and its check of one object
    (`can_read`) agrees with it; the rows are today's rules (a personal canned response is its
    author's, a channel's is its queue's and the supervisors'; a task its responsible's and
    author's, every one for supervisors; an order whoever sees its chat's)."""
    from models import CannedResponse, Order, OrderItem, Task
    from services.policies import canned_responses, orders, tasks
    from services.policies.conditions import NOTHING

    viewers, expected, canned, task_rows, order_rows = await _rows_of_other_entities()
    names = {row.id: name for name, row in canned.items()}
    expected_canned = {
        "member": {"member_personal", "in_mine"}, "outsider": {"outsider_personal", "in_other"},
        "supervisor": {"supervisor_personal", "in_mine", "in_other"}, "admin": {"in_mine", "in_other"},
    }
    for name, viewer in viewers.items():
        if viewer.is_operator:
            rule = canned_responses.readable(viewer)
            by_orm = set(await CannedResponse.filter(rule.q()).values_list("id", flat=True))
            assert {names[i] for i in by_orm} == expected_canned.get(name, set()), name
            assert await _ids_by_sql("canned_response", rule, "cr") == by_orm, name
            for row in canned.values():
                assert await canned_responses.can_read(viewer, row) == (row.id in by_orm), (name, row.id)

            rule = tasks.readable(viewer)
            by_orm = set(await Task.filter(rule.q()).values_list("id", flat=True))
            assert await _ids_by_sql("task", rule, "t") == by_orm or rule is EVERYTHING, name
            for row in task_rows.values():
                assert tasks.can_read(viewer, row) == (row.id in by_orm), (name, row.id)
            assert set(await tasks.my_tasks(viewer).values_list("id", flat=True)) == {
                row.id for row in task_rows.values() if viewer.operator_id in (row.responsible_id, row.created_by_id)}
        rule = orders.readable(viewer)
        by_orm = set(await Order.filter(rule.q()).values_list("id", flat=True))
        assert by_orm == {order_rows[chat_id].id for chat_id in expected[name]}, name
        if rule is not EVERYTHING:
            assert await _ids_by_sql("chat_order", rule, "o") == by_orm, name
        assert set(await orders.of_chats(viewer, list(order_rows)).values_list("id", flat=True)) == by_orm, name
        assert set(await orders.items_of(viewer, [o.id for o in order_rows.values()])
                   .values_list("order_id", flat=True)) == by_orm, name
        for order in order_rows.values():
            assert await orders.can_read(viewer, order) == (order.id in by_orm), (name, order.id)
    assert not await OrderItem.filter(NOTHING.q()).exists()
    assert await _ids_by_sql("order_item", NOTHING, "i") == set()


async def test_the_presence_rule_selects_the_same_operators_as_q_and_as_sql_for_every_viewer(db):
    """Whose presence a viewer follows: supervisors every operator, an operator themselves and those who
    share one of their queues (services/policies/operators.py `presence_followed`)."""
    a, a_v = await make_operator()
    b, b_v = await make_operator()
    c, c_v = await make_operator()
    loner, loner_v = await make_operator()
    supervisor, supervisor_v = await make_operator(role=OperatorRole.SUPERVISOR)
    await make_open_channel([a, b])
    await make_open_channel([b, c])
    everyone = set(await Operator.all().values_list("id", flat=True))  # (and the admin who made the channels)
    expected = {"a": ({a_v}, {a.id, b.id}), "b": ({b_v}, {a.id, b.id, c.id}), "c": ({c_v}, {b.id, c.id}),
                "loner": ({loner_v}, {loner.id}), "supervisor": ({supervisor_v}, everyone)}
    for name, (viewers, operators) in expected.items():
        viewer = next(iter(viewers))
        rule = operator_policy.presence_followed(viewer)
        by_orm = set(await Operator.filter(rule.q()).values_list("id", flat=True))
        assert by_orm == operators, name
        assert await _ids_by_sql("operator", rule, "o") == by_orm, name
        for other in everyone:
            assert await operator_policy.follows_presence_of(viewer, other) == (other in by_orm), (name, other)
