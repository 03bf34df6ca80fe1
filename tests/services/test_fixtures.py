"""The shared fixtures do what the other tests rely on: a fresh database per test on the
right backend, the right broker, and a statement counter that sees every statement."""
from __future__ import annotations

from tortoise import Tortoise
from tortoise.transactions import in_transaction

from models import Client, Operator
from infrastructure.broker import LocalBroker, RedisBroker, broker_in_use
from services.events.events import unit_of_work
from tests.factories import make_operator


async def test_backend_uses_its_database_and_broker(db, platform):
    dialect = Tortoise.get_connection("default").capabilities.dialect
    assert dialect == {"sqlite": "sqlite", "postgres": "postgres"}[db]
    broker = broker_in_use()
    assert broker is platform.broker  # the test's platform is in use
    assert isinstance(broker, LocalBroker if db == "sqlite" else RedisBroker)


async def test_each_test_starts_empty_first(db):
    # run twice (same name pattern below): ids restart and no rows leak from another test
    assert await Operator.all().count() == 0
    operator, _ = await make_operator()
    assert operator.id == 1


async def test_each_test_starts_empty_second(db):
    assert await Operator.all().count() == 0
    operator, _ = await make_operator()
    assert operator.id == 1


async def test_count_queries_counts_plain_and_transactional_statements(db, count_queries):
    with count_queries() as counter:
        await Client.create(name="a")
        await Client.filter(name="a").count()
    assert counter.count == 2

    with count_queries() as counter:
        async with in_transaction() as tx:
            await Client.create(using_db=tx, name="b")
            await Client.filter(name="b").using_db(tx).update(name="c")
            await Client.filter(name="c").using_db(tx).values_list("id", flat=True)
    assert counter.count == 3, counter.statements

    with count_queries() as counter:
        async with unit_of_work() as uow:
            await Client.filter(name="c").using_db(uow.tx).exists()
    # on SQLite a use case's transaction takes the write lock first (services/common/transactions.py)
    assert counter.count == (2 if db == "sqlite" else 1), counter.statements

    with count_queries() as counter:
        pass
    assert counter.count == 0


async def test_count_queries_stops_counting_after_the_block(db, count_queries):
    with count_queries() as counter:
        await Client.all().count()
    await Client.all().count()
    assert counter.count == 1
