"""Mapping domain errors to the API, in one place."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

from graphql import GraphQLError

from schema.common import UserError
from services.errors import DomainError, Unauthenticated

T = TypeVar("T")


def top_level(error: DomainError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code}, original_error=error)


async def payload(build: Callable[..., T], key: str, call: Awaitable[Any], convert: Callable[[Any], Any]) -> T:
    """Run a use case for a mutation: its result under `key`, or userErrors.

    Missing or invalid authentication is not a userError: it is a top-level error with
    `extensions.code = "UNAUTHENTICATED"`, so clients can handle it in one place.
    """
    try:
        result = await call
    except Unauthenticated as error:
        raise top_level(error)
    except DomainError as error:
        return build(**{key: None, "user_errors": [UserError.from_domain(error)]})
    return build(**{key: convert(result) if result is not None else None, "user_errors": []})
