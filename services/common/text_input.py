"""Free text from clients: what may be stored, and how long it may be.

Every use case that takes text from a client is decorated with `text_input`, which checks
each `str` (or list of `str`) keyword argument before the use case runs:

- a NUL character (U+0000) is refused: PostgreSQL cannot store it in a text column (SQLite
  can, so without this the same request would succeed or fail depending on the backend);
- a lone UTF-16 surrogate (U+D800..U+DFFF, which JSON's "\\ud800" escapes can carry) is
  refused: it is not a character, no UTF-8 encoder (database driver, JSON response) takes it;
- a value longer than the limit named for its argument is refused (the columns' sizes, or
  the limits the README documents for long texts).

Refusals are `INVALID_INPUT` with `field = ["input", <the argument in camelCase>]`. Text
is otherwise kept exactly as sent: right-to-left overrides, zero-width joiners and combining
marks are valid Unicode, and the HTML rendering escapes every character.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Awaitable, Callable, TypeVar

from services.common.errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: characters no text column may hold
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# the length limits (characters) of the fields that have none of their own elsewhere
NAME_LENGTH = 200  # names of operators, clients, open channels, connectors, products
EMAIL_LENGTH = 254  # RFC 5321's limit of an address
PHONE_LENGTH = 64
TITLE_LENGTH = 255  # titles of chats, tasks, canned responses, GIFs
URL_LENGTH = 2000
TOKEN_LENGTH = 200  # a Telegram bot token
PASSWORD_LENGTH = 1000  # generous, but a megabyte is not hashed
LONG_TEXT_LENGTH = 10_000  # welcome messages, task descriptions, feed posts, canned responses
SEARCH_LENGTH = 1000  # search strings and cursors


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def check_text(value: str, field: list[str] | None, max_length: int | None = None) -> None:
    """INVALID_INPUT for text that contains NUL or a lone surrogate, or is over max_length."""
    refusal = _refusal(value, max_length)
    if refusal is not None:
        raise InvalidInput(refusal, field=field)


def _refusal(value: str, max_length: int | None) -> str | None:
    """Why `value` may not be stored (None: it may)."""
    found = _UNSTORABLE.search(value)
    if found:
        what = "a NUL character" if found.group() == "\x00" else "an invalid character (a lone surrogate)"
        return f"The text contains {what}."
    if max_length is not None and len(value) > max_length:
        return f"The text is longer than {max_length} characters."
    return None


#: the arguments whose items are checked one by one
_SEQUENCES = (list, tuple)


def text_input(api_names: dict[str, str] | None = None, **max_lengths: int | None) -> Callable[[F], F]:
    """Check every text keyword argument of a use case; `name=LIMIT` also limits its length.

    A refusal names the input field: the argument in camelCase, or `api_names[argument]` where
    the API calls it otherwise (e.g. {"bot_token": "telegramBotToken"})."""
    api_names = api_names or {}

    def decorate(use_case: F) -> F:
        @functools.wraps(use_case)
        async def checked(*args: Any, **kwargs: Any) -> Any:
            for name, value in kwargs.items():
                if isinstance(value, str):
                    check(name, value)
                elif isinstance(value, _SEQUENCES):
                    for item in value:
                        if isinstance(item, str):
                            check(name, item)
            return await use_case(*args, **kwargs)

        def check(name: str, value: str) -> None:
            refusal = _refusal(value, max_lengths.get(name))
            if refusal is not None:  # the field's name is made for a refusal only
                raise InvalidInput(refusal, field=["input", api_names.get(name) or _camel(name)])

        return checked  # type: ignore[return-value]

    return decorate


#: the longest message (a visitor's, an operator's, a connector's)
MAX_TEXT_LENGTH = 10_000


def clean_text(text: str | None, field: list[str], *, allow_empty: bool = False) -> str:
    text = (text or "").strip()
    if not text and not allow_empty:
        raise InvalidInput("The message is empty.", field=field)
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"The message is longer than {MAX_TEXT_LENGTH} characters.", field=field)
    return text
