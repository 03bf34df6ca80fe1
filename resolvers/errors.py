"""Mapping domain errors to the API, in one place."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

from graphql import GraphQLError

from schema.common import UserError
from schema.error_policy import domain_extensions
from schema.ids import decode_id
from services.common.errors import DomainError, InvalidInput, Unauthenticated

T = TypeVar("T")


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


async def payload_of(call: Awaitable[Any], success: Callable[[Any], T], failure: Callable[[list[UserError]], T]) -> T:
    """Run a use case for a mutation: `success(result)`, or `failure(userErrors)`.

    Missing or invalid authentication is not a userError: it is a top-level error with
    `extensions.code = "UNAUTHENTICATED"`, so clients can handle it in one place.
    """
    try:
        result = await call
    except Unauthenticated as error:
        raise top_level(error)
    except DomainError as error:
        return failure([UserError.from_domain(error)])
    return success(result)


async def payload(build: Callable[..., T], key: str, call: Awaitable[Any], convert: Callable[[Any], Any]) -> T:
    """The common payload: the changed object under `key` (null on failure) and userErrors."""
    return await payload_of(
        call,
        lambda result: build(**{key: convert(result) if result is not None else None, "user_errors": []}),
        lambda errors: build(**{key: None, "user_errors": errors}),
    )
