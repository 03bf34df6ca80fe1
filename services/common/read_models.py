"""Read models: the typed, frozen rows of the hot reads, and how a statement's row becomes one.

A hot read (myChats, conversations, a page's relations, search, the token look-up) skips
Tortoise's query building and model hydration. What it returns is declared once, as a frozen
slotted dataclass registered with `read_model(Model)`: its fields are the model's attribute
names (checked against the model by tests/read_models), the statement's column list is derived
from them (`columns`), and `row_reader` turns a result row into one. The schema's types build
from these rows (a model has the same attributes, so they build from a model too).

Values are converted as the model's fields convert them, but only where a raw row differs:
SQLite's text dates and 0/1 booleans, and enum columns (plain strings on both databases).

A field may read another model's column (`column_of(Model)`: a joined table).
"""
from __future__ import annotations

import dataclasses
import functools
import keyword
from collections.abc import Callable, Mapping, Set
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

from tortoise.fields.data import BooleanField, CharEnumFieldInstance, DatetimeField, IntEnumFieldInstance

T = TypeVar("T", bound="DataclassInstance")

#: read model class -> the Tortoise model whose table it reads (tests/read_models checks every one)
READ_MODELS: dict[type, Any] = {}

_MODEL = "openchannels.read_model.model"


def read_model(model: Any) -> Callable[[type[T]], type[T]]:
    """Class decorator (over `@dataclass(frozen=True, slots=True)`): the class reads `model`'s table."""
    def register(cls: type[T]) -> type[T]:
        params = getattr(cls, "__dataclass_params__", None)
        if params is None or not params.frozen or "__slots__" not in cls.__dict__:
            raise TypeError(f"{cls.__name__}: a read model is a @dataclass(frozen=True, slots=True)")
        if cls.__bases__ != (object,):  # its constructor's twin (`_builder_of`) has the layout of one class
            raise TypeError(f"{cls.__name__}: a read model derives from no other class")
        READ_MODELS[cls] = model
        return cls

    return register


def column_of(model: Any) -> Any:
    """A field read from `model`'s table (joined) rather than the read model's own."""
    return dataclasses.field(metadata={_MODEL: model})


@functools.cache
def columns(cls: type) -> tuple[str, ...]:
    """The names of the read model's columns of its own model (what a statement selects from its table).
    Made once per read model (a list's statement asks for them with every request)."""
    return tuple(f.name for f in dataclasses.fields(cls) if _MODEL not in f.metadata)


def select_list(cls: type, alias: str, read: Set[str] | None = None, prefix: str = "") -> str:
    """A statement's select list of the read model's own columns from the table aliased `alias`,
    each named `prefix + column`. With `read`, a partial read: the columns not in it are selected
    as NULL, so the row's reader is the same and the read model holds None there (the driver
    decodes nothing for them: a page of 50 chats carries hundreds of timestamps, the dearest values
    to decode, and a list's selection often reads none of them)."""
    return ", ".join(f"{alias}.{column} AS {prefix}{column}" if read is None or column in read
                     else f"NULL AS {prefix}{column}" for column in columns(cls))


def source_of(cls: type, field: dataclasses.Field) -> Any:
    """The model a field of a read model is a column of."""
    return field.metadata.get(_MODEL, READ_MODELS[cls])


def row_reader(cls: type[T], prefix: str = "") -> Callable[[Mapping[str, Any]], T]:
    """A function from a result row to a `cls`, each field read from the row's `prefix + name` key
    and converted as its model's field does (compiled on first use: a model's fields are complete
    only once Tortoise is initialised)."""
    compiled: list[Callable[[Mapping[str, Any]], T]] = []

    def read(row: Mapping[str, Any]) -> T:
        if not compiled:
            compiled.append(compiled_row_reader(cls, prefix))
        return compiled[0](row)

    return read


@functools.lru_cache(maxsize=256)
def compiled_row_reader(cls: type[T], prefix: str = "") -> Callable[[Mapping[str, Any]], T]:
    """row_reader's function, for use once Tortoise is initialised: one generated function per
    (class, prefix), each conversion written inline (a page reads hundreds of rows; a loop over
    the fields with a call per value cost twice as much)."""
    env: dict[str, Any] = {"datetime": datetime}
    lines = []
    for index, field in enumerate(dataclasses.fields(cls)):
        value = f"value{index}"
        model = source_of(cls, field)
        model_field = model._meta.fields_map.get(field.name)
        lines.append(f"    {value} = row[{prefix + field.name!r}]")
        lines.append(f"    obj.{field.name} = {conversion(model_field, value, env) or value}")
    return _constructor(cls, "row", lines, env)


@functools.lru_cache(maxsize=64)
def model_reader(cls: type[T]) -> Callable[[Any], T]:
    """A function from a model instance (already converted by Tortoise) to a `cls` of its attributes."""
    lines = [f"    obj.{field.name} = source.{field.name}" for field in dataclasses.fields(cls)]
    return _constructor(cls, "source", lines, {})


def _constructor(cls: type[T], argument: str, lines: list[str], env: dict[str, Any]) -> Callable[[Any], T]:
    """The generated function: a `cls` built on its plain twin (`_builder_of`), whose slots are
    set by plain attribute stores, then made a `cls` by `__class__` assignment (the language's
    own, allowed between classes of the same slots).

    A frozen dataclass's own __init__ sets each field through `object.__setattr__` (its class's
    __setattr__ refuses): 5.7 us for a 15-field row against 2.2 us for the SimpleNamespace it
    replaces; the slots' descriptors' `__set__` about as much; the twin 0.5 us. Every field is set
    as __init__ would set it (no defaults, no __post_init__: `read_model` accepts no other kind)."""
    if getattr(cls, "__post_init__", None) is not None:
        raise TypeError(f"{cls.__name__}: a read model has no __post_init__")
    for field in dataclasses.fields(cls):
        if not field.name.isidentifier() or keyword.iskeyword(field.name):
            raise ValueError(f"not a field name: {field.name!r}")
    env["cls"], env["builder"], env["new"] = cls, _builder_of(cls), object.__new__
    source = (f"def read({argument}):\n    obj = new(builder)\n" + "".join(line + "\n" for line in lines)
              + "    obj.__class__ = cls\n    return obj\n")
    exec(compile(source, f"<read model {cls.__name__}>", "exec"), env)  # noqa: S102 - field names from the code
    return env["read"]


def _builder_of(cls: type) -> type:
    """A plain class of the same slots as `cls` (the same layout: an instance may become a `cls`),
    without a frozen __setattr__."""
    return type(f"{cls.__name__}Builder", (object,), {"__slots__": cls.__dict__["__slots__"]})


def conversion(field: Any, value: str, env: dict[str, Any]) -> str | None:
    """The expression converting `value` (a variable holding the driver's value) as the model's
    field does; what a conversion needs is added to `env` (which has `datetime`). Only where a raw
    value differs: enum columns (plain strings on both databases), SQLite's text dates and 0/1
    booleans (asyncpg gives aware datetimes and booleans, left as they are). None for any other
    field: a read model keeps the driver's value, services/common/model_rows.py calls the field's
    own to_python_value."""
    if isinstance(field, (CharEnumFieldInstance, IntEnumFieldInstance)):
        env[f"members_{value}"] = {member.value: member for member in field.enum_type}  # Enum(value) is slow
        return f"None if {value} is None else members_{value}[{value}]"
    if isinstance(field, DatetimeField):
        env[f"to_python_{value}"] = field.to_python_value
        return (f"{value} if {value} is None or ({value}.__class__ is datetime and {value}.tzinfo is not None) "
                f"else to_python_{value}({value})")
    if isinstance(field, BooleanField):
        return f"{value} if {value} is None or {value}.__class__ is bool else bool({value})"
    return None
