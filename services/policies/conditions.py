"""A rule written once, read two ways: as a Tortoise `Q` and as an SQL condition with parameters.

A policy (services/policies/) defines who may see which rows as a `Condition` built from a few
parts (a column equal to a value, one of some values, or null, a column among the rows of another table or of another
policy's rows, any of / all of, nothing).
The ORM queries take `condition.q()`; the hand-written statements (services/common/raw_sql.py)
take `render(condition, alias, param)`, which gives the text those statements were written with
(one placeholder per distinct value). tests/policies/test_conditions.py checks that both forms
select the same rows for every kind of viewer, on SQLite and PostgreSQL.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from tortoise.expressions import Q, Subquery
from tortoise.models import Model

Param = Callable[[Any], str]


class Condition:
    """A condition on the rows of one table. `EVERYTHING` is no condition at all."""

    def q(self) -> Q:
        raise NotImplementedError

    def sql(self, alias: str, param: Param) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class _Everything(Condition):
    def q(self) -> Q:
        return Q()

    def sql(self, alias: str, param: Param) -> str:
        return "1 = 1"


EVERYTHING: Condition = _Everything()


@dataclass(frozen=True)
class _Nothing(Condition):
    def q(self) -> Q:
        return Q(id__in=[])

    def sql(self, alias: str, param: Param) -> str:
        return "1 = 0"


#: no row at all (a visitor's CRM, for instance)
NOTHING: Condition = _Nothing()


@dataclass(frozen=True)
class IsNull(Condition):
    """`column IS NULL` (`null`) or `column IS NOT NULL`."""

    column: str
    null: bool = True

    def q(self) -> Q:
        return Q(**cast(dict[str, Any], {f"{self.column}__isnull": self.null}))

    def sql(self, alias: str, param: Param) -> str:
        return f"{alias}.{self.column} IS {'' if self.null else 'NOT '}NULL"


@dataclass(frozen=True)
class Equals(Condition):
    """`column = value` (a column named as its Tortoise field: `client_id`, `silent`)."""

    column: str
    value: Any

    def q(self) -> Q:
        return Q(**{self.column: self.value})

    def sql(self, alias: str, param: Param) -> str:
        return f"{alias}.{self.column} = {param(self.value)}"


@dataclass(frozen=True)
class InRows(Condition):
    """`column IN (SELECT key FROM model's table WHERE field = value AND ...)`."""

    column: str
    model: type[Model]
    key: str
    where: tuple[tuple[str, Any], ...]

    def q(self) -> Q:
        return Q(**cast(dict[str, Any], {f"{self.column}__in": Subquery(self.model.filter(**dict(self.where)).values(self.key))}))

    def sql(self, alias: str, param: Param) -> str:
        where = " AND ".join(f"{field} = {param(value)}" for field, value in self.where)
        return f"{alias}.{self.column} IN (SELECT {self.key} FROM {self.model._meta.db_table} WHERE {where})"


@dataclass(frozen=True)
class SharesGroup(Condition):
    """`column IN (SELECT key FROM t WHERE group IN (SELECT group FROM t WHERE key = value))`, t the model's
    table: the rows that share a group with one (the operators who share a queue with one operator)."""

    column: str
    model: type[Model]
    key: str
    group: str
    value: Any

    def q(self) -> Q:
        groups = Subquery(self.model.filter(**{self.key: self.value}).values(self.group))
        return Q(**cast(dict[str, Any], {
            f"{self.column}__in": Subquery(self.model.filter(**{f"{self.group}__in": groups}).values(self.key))}))

    def sql(self, alias: str, param: Param) -> str:
        table = self.model._meta.db_table
        return (f"{alias}.{self.column} IN (SELECT {self.key} FROM {table} WHERE {self.group} IN "
                f"(SELECT {self.group} FROM {table} WHERE {self.key} = {param(self.value)}))")


@dataclass(frozen=True)
class OneOf(Condition):
    """`column IN (values)`; no value at all matches nothing."""

    column: str
    values: tuple[Any, ...]

    def q(self) -> Q:
        return Q(**cast(dict[str, Any], {f"{self.column}__in": list(self.values)}))

    def sql(self, alias: str, param: Param) -> str:
        if not self.values:
            return "1 = 0"
        return f"{alias}.{self.column} IN ({', '.join(param(v) for v in self.values)})"


@dataclass(frozen=True)
class InRowsOneOf(Condition):
    """`column IN (SELECT key FROM model's table WHERE field IN (values))`: rows linked to any of
    these (a chat with any of these labels); no value at all matches nothing."""

    column: str
    model: type[Model]
    key: str
    field: str
    values: tuple[Any, ...]

    def q(self) -> Q:
        rows = self.model.filter(**cast(dict[str, Any], {f"{self.field}__in": list(self.values)}))
        return Q(**cast(dict[str, Any], {f"{self.column}__in": Subquery(rows.values(self.key))}))

    def sql(self, alias: str, param: Param) -> str:
        if not self.values:
            return "1 = 0"
        values = ", ".join(param(v) for v in self.values)
        return (f"{alias}.{self.column} IN (SELECT {self.key} FROM {self.model._meta.db_table} "
                f"WHERE {self.field} IN ({values}))")


@dataclass(frozen=True)
class Within(Condition):
    """`column IN (SELECT id FROM model's table WHERE condition)`: rows hanging off rows another policy
    decides on (an order off its chat). Make it with `within`, which drops it for `EVERYTHING`."""

    column: str
    model: type[Model]
    condition: Condition

    def q(self) -> Q:
        return Q(**cast(dict[str, Any], {f"{self.column}__in": Subquery(apply(self.model.all(), self.condition).values("id"))}))

    def sql(self, alias: str, param: Param) -> str:
        table = self.model._meta.db_table
        inner = f"{alias}_{table}"
        return f'{alias}.{self.column} IN (SELECT {inner}.id FROM "{table}" {inner} WHERE {self.condition.sql(inner, param)})'


def within(column: str, model: type[Model], condition: Condition) -> Condition:
    """`Within`, or `EVERYTHING` when every row of `model` is in (the column is never null)."""
    return EVERYTHING if condition is EVERYTHING else Within(column, model, condition)


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def q(self) -> Q:
        return Q(*(part.q() for part in self.parts), join_type="OR")

    def sql(self, alias: str, param: Param) -> str:
        return "(" + " OR ".join(part.sql(alias, param) for part in self.parts) + ")"


@dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def q(self) -> Q:
        return Q(*(part.q() for part in self.parts))

    def sql(self, alias: str, param: Param) -> str:
        return " AND ".join(part.sql(alias, param) for part in self.parts)


@dataclass(frozen=True)
class Not(Condition):
    """The rows `part` does not select (`part` must never be unknown: no nullable column compared)."""

    part: Condition

    def q(self) -> Q:
        return ~self.part.q()

    def sql(self, alias: str, param: Param) -> str:
        return f"NOT ({self.part.sql(alias, param)})"


def render(condition: Condition, alias: str, param: Param) -> str | None:
    """The condition on rows aliased `alias`, its values added with `param` (one placeholder per
    distinct value); None for `EVERYTHING`, so that a statement adds no `WHERE 1 = 1`."""
    if condition is EVERYTHING:
        return None
    placeholders: dict[tuple[type, Any], str] = {}

    def once(value: Any) -> str:
        key = (type(value), value)
        if key not in placeholders:
            placeholders[key] = param(value)
        return placeholders[key]

    return condition.sql(alias, once)


def apply(query: Any, condition: Condition) -> Any:
    """A Tortoise query narrowed by the condition (unchanged for `EVERYTHING`)."""
    return query if condition is EVERYTHING else query.filter(condition.q())
