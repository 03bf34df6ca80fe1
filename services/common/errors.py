"""Expected failures of a use case. Each carries a code the API returns as a userError."""
from __future__ import annotations


class DomainError(Exception):
    code = "INVALID_INPUT"

    def __init__(self, message: str, *, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class InvalidState(DomainError):
    code = "INVALID_STATE"


class AlreadyTaken(DomainError):
    code = "ALREADY_TAKEN"


class LimitExceeded(DomainError):
    code = "LIMIT_EXCEEDED"
