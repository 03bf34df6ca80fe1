"""Mapping domain errors to the API, in one place: a top-level error here, a mutation's userError
through `Outcome` (schema/payloads.py turns it into the payload)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Generic, TypeVar, cast

from graphql import GraphQLError

from resolvers.ids import decode_id
from services.common.errors import DomainError, InvalidInput, Unauthenticated

T = TypeVar("T")

__all__ = ["DomainError", "Outcome", "domain_extensions", "id_argument", "not_an_id", "outcome", "top_level",
           "unauthenticated_on_top", "viewer_of"]


def domain_extensions(error: DomainError) -> dict[str, object]:
    """A domain error's `extensions`: its code, the argument it is about, and its own (e.g. retryAfterSeconds)."""
    field = getattr(error, "field", None)
    return {"code": error.code, **({"field": field} if field else {}), **getattr(error, "extensions", {})}


def top_level(error: DomainError) -> GraphQLError:
    return GraphQLError(error.message, extensions=domain_extensions(error), original_error=error)


def id_argument(global_id: str, type_name: str, argument: str = "id") -> int:
    """The primary key of a query's ID argument. An ID that is not a `type_name`'s is a top-level
    INVALID_INPUT error with the message a mutation gives in its userError ("Not a valid Chat
    ID."), not a null that reads like "no such chat"."""
    try:
        return decode_id(global_id, type_name, [argument])
    except InvalidInput as error:
        raise top_level(error)


def not_an_id(argument: str = "id") -> GraphQLError:
    """For `node(id:)`: an ID no type of the API would ever give."""
    return top_level(InvalidInput("Not a valid ID.", field=[argument]))


def viewer_of(info: Any) -> Any:
    """The caller; a bad token is a top-level UNAUTHENTICATED error."""
    try:
        return info.context.viewer
    except Unauthenticated as error:
        raise top_level(error)


async def unauthenticated_on_top(call: Awaitable[T]) -> T:
    """Run a query's use case; missing authentication becomes a top-level error."""
    try:
        return await call
    except Unauthenticated as error:
        raise top_level(error)


@dataclass(slots=True)
class Outcome(Generic[T]):
    """What a mutation's use case gave: its result, or the domain error that becomes the payload's
    userError (schema/payloads.py builds the payload from it)."""
    result: T | None = None
    error: DomainError | None = None

    @property
    def value(self) -> T:
        """The result, once `error` is known to be None (the use case succeeded)."""
        return cast(T, self.result)


async def outcome(call: Awaitable[T]) -> Outcome[T]:
    """Run a use case for a mutation: its result, or the domain error it failed with.

    Missing or invalid authentication is not a userError: it is a top-level error with
    `extensions.code = "UNAUTHENTICATED"`, so clients can handle it in one place.
    """
    try:
        result = await call
    except Unauthenticated as error:
        raise top_level(error)
    except DomainError as error:
        return Outcome(error=error)
    return Outcome(result)
