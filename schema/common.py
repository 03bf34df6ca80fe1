"""Types every part of the API shares: Node, PageInfo, UserError; and the builders of types that
point back up the type graph."""
from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry

if TYPE_CHECKING:
    from services.common.errors import DomainError


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_info_of(page: Any, cursors: list[str]) -> PageInfo:
    """PageInfo of a services.pagination.Page whose rows have these cursors."""
    return PageInfo(has_next_page=page.has_next_page, has_previous_page=page.has_previous_page,
                    start_cursor=cursors[0] if cursors else None, end_cursor=cursors[-1] if cursors else None)


#: builders of the types that fields lower in the type graph return (Message.chat, Client.chats...)
_BUILDERS: dict[str, Callable[[Any], Any]] = {}


T = TypeVar("T")
_new = object.__new__


def instance(cls: type[T], attributes: dict[str, Any]) -> T:
    """A `cls` (a Strawberry type: a dataclass without slots) holding `attributes`, made without
    its __init__. For the conversions a list makes per row (`from_model`): a 50-chat page makes
    some 200 objects, and a call with keywords to a class passes them through a dict into
    __init__, which stores them one by one (a third of the conversion). `attributes` names every
    field __init__ takes, defaults included (tests/graphql/test_instances.py checks each user)."""
    made = _new(cls)
    made.__dict__ = attributes
    return made


def provides(name: str, builder: Callable[[Any], Any]) -> None:
    """Register how the module that defines type `name` builds it from a row or a page.

    The GraphQL types form cycles (a chat has messages, a message has its chat) but their modules
    must not: a module lower in the graph (schema/chats/message.py) declares the type it returns
    with `strawberry.lazy` and builds it with `build`, and the module that defines the type
    (schema/chats/chat.py) registers its builder here when it is imported. Building the schema
    imports every type module, so every builder is registered before the first request."""
    _BUILDERS[name] = builder


def build(name: str, value: Any) -> Any:
    """The GraphQL object of type `name` made of `value` by the builder its module registered."""
    return _BUILDERS[name](value)


@strawberry.enum(description="Why a mutation did not do what was asked.")
class UserErrorCode(Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_STATE = "INVALID_STATE"
    ALREADY_TAKEN = "ALREADY_TAKEN"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


@strawberry.type(description="An expected failure of a mutation: nothing was changed.")
class UserError:
    code: UserErrorCode
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, if any, e.g. ["input", "title"].'
    )
    message: str

    @classmethod
    def from_domain(cls, error: DomainError) -> "UserError":
        return cls(code=UserErrorCode(error.code), field=error.field, message=error.message)
