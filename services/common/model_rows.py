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
the same values, tests/engine/test_model_rows.py compares them. The constructor is generated from
the same field groups (`_meta.db_native_fields` taken as they are, `db_default_fields` through
their field's type, `db_complex_fields` through their field's `to_python_value`, a CharEnumField's
`enum_type(value)` as a lookup of its members by value) and fills the instance's dict in one
step. A row without one of the columns raises KeyError, where _init_from_db would make a partial
model: the callers give whole rows. MODEL_ROWS=off: Tortoise's _init_from_db itself.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar

from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model

from infrastructure.settings import model_rows_enabled

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
    namespace: dict[str, Any] = {"new": model.__new__, "model": model}
    # the instance's own attributes, as _init_from_db sets them
    items = ["'_partial': False", "'_saved_in_db': True",
             f"'_custom_generated_pk': {meta.db_pk_column not in meta.generated_db_fields!r}", "'_await_when_save': {}"]
    items += [f"{attribute!r}: row[{key!r}]" for key, attribute, _ in meta.db_native_fields]
    for number, (key, attribute, field) in enumerate(meta.db_default_fields):
        namespace[f"type_{number}"] = field.field_type
        items.append(f"{attribute!r}: (type_{number}(value) if (value := row[{key!r}]) is not None else None)")
    for number, (key, attribute, field) in enumerate(meta.db_complex_fields):
        if isinstance(field, CharEnumFieldInstance) \
                and type(field).to_python_value is CharEnumFieldInstance.to_python_value:
            # `enum_type(value)`, as a lookup: Enum's call and __new__ are Python, a dict's get is not
            namespace[f"members_{number}"] = {member.value: member for member in field.enum_type}
            items.append(f"{attribute!r}: (members_{number}[value] if (value := row[{key!r}]) is not None else None)")
            continue
        namespace[f"convert_{number}"] = field.to_python_value
        items.append(f"{attribute!r}: convert_{number}(row[{key!r}])")
    source = ("def build(row):\n    instance = new(model)\n"
              f"    instance.__dict__.update({{{', '.join(items)}}})\n    return instance\n")
    exec(compile(source, f"<model_of_row {model.__name__}>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace["build"]
