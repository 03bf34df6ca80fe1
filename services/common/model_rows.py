"""Tortoise models built from whole rows of hand-written statements, by a constructor generated
once per model (MODEL_ROWS=on, the default).

Why: Tortoise's own constructor of a model from a row, `Model._init_from_db(**row)` (private,
pinned with the rest: tests/engine/test_private_parts.py), sets four attributes of its own through
`Model.__setattr__` (an attribute test and two membership tests each) and walks the model's field
groups one field at a time for every row. sendMessage builds a Chat and a Message that way for
every message: about 1,100 bytecodes, a thirteenth of its Python (searchMessages builds each message of
a page and its chat the same way).

What: `model_of_row(model)(row)` returns what `model._init_from_db(**row)` returns for a row that
has every column of the model (asyncpg's Record or a dict): an instance with the same attributes and
equal values, tests/engine/test_model_rows.py compares them. The constructor is generated from
the same field groups (`_meta.db_native_fields` taken as they are, the others through the read
models' conversion where it has one, else `db_default_fields` through their field's type and
`db_complex_fields` through their field's `to_python_value`) and fills the instance's dict in one
step. The read models' conversion (services/common/read_models.conversion) takes an enum's member
by a lookup of its values, keeps an aware datetime as the driver gives it (UTC: Tortoise's
`astimezone` gives an equal datetime with its own UTC zone object) and makes SQLite's 0/1 a bool.
A row without one of the columns raises KeyError, where _init_from_db would make a partial model:
the callers give whole rows. MODEL_ROWS=off: Tortoise's _init_from_db itself.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping, TypeVar

from tortoise.models import Model

from infrastructure.settings import model_rows_enabled
from services.common.read_models import conversion

M = TypeVar("M", bound=Model)

#: MODEL_ROWS, read once (a test may set this)
ENABLED = model_rows_enabled()

_BUILT: dict[type, Callable[[Mapping[str, Any]], Any]] = {}


def model_of_row(model: type[M]) -> Callable[[Mapping[str, Any]], M]:
    """The constructor of `model` from a whole row (see the module's docstring)."""
    found = _BUILT.get(model)
    if found is None:
        found = _BUILT[model] = _constructor(model) if ENABLED else (lambda row: model._init_from_db(**row))
    return found


def _constructor(model: type[Model]) -> Callable[[Mapping[str, Any]], Any]:
    meta = model._meta
    namespace: dict[str, Any] = {"new": model.__new__, "model": model, "datetime": datetime}
    # the instance's own attributes, as _init_from_db sets them
    items = ["'_partial': False", "'_saved_in_db': True",
             f"'_custom_generated_pk': {meta.db_pk_column not in meta.generated_db_fields!r}", "'_await_when_save': {}"]
    items += [f"{attribute!r}: row[{key!r}]" for key, attribute, _ in meta.db_native_fields]
    values = []
    # the read models' conversion where it has one (an enum's member by a lookup of its values, an aware
    # datetime as the driver gives it, SQLite's 0/1 as a bool), else the field's type (a default field) or
    # its own to_python_value
    for group, fields in (("default", meta.db_default_fields), ("complex", meta.db_complex_fields)):
        for number, (key, attribute, field) in enumerate(fields):
            value = f"{group}_{number}"
            values.append(f"    {value} = row[{key!r}]\n")
            expression = conversion(field, value, namespace)
            if expression is None and group == "default":
                namespace[f"type_{value}"] = field.field_type
                expression = f"None if {value} is None else type_{value}({value})"
            elif expression is None:
                namespace[f"convert_{value}"] = field.to_python_value
                expression = f"convert_{value}({value})"
            items.append(f"{attribute!r}: ({expression})")
    source = ("def build(row):\n" + "".join(values) + "    instance = new(model)\n"
              f"    instance.__dict__.update({{{', '.join(items)}}})\n    return instance\n")
    exec(compile(source, f"<model_of_row {model.__name__}>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace["build"]
