"""Strawberry's extension hooks without their per-request introspection (PLAIN_EXECUTION=on).

Every operation runs its extensions' hooks in four phases (operation, parsing, validation,
execution). For each phase Strawberry builds a context manager that, for each of the schema's
extensions, looks the hook up on the extension's class, asks `inspect` whether it is a generator
function, and wraps the bound method with `contextlib.contextmanager` (a new function each time,
with `functools.wraps`): some 24 look-ups and a dozen wrappers per request, the same every time,
about 4 % of a 50-chat list's server time.

Here the answer is worked out once per extension class and phase: the hook function wrapped once
(`contextlib.contextmanager` of the unbound function), so a request only binds it to its
extension (`partial`). What runs is the same: the same generator per hook, in the same
contextlib context managers, entered and left by Strawberry's own code
(`ExtensionContextManagerBase`, from its non-public module `strawberry.extensions.context`;
pinned: tests/engine/test_private_parts.py). A hook that is neither a generator nor an
asynchronous generator function takes Strawberry's own path.
"""
from __future__ import annotations

import contextlib
import inspect
from functools import partial
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager, OperationContextManager, ParsingContextManager, ValidationContextManager, WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

#: the hook is not a generator function: Strawberry's own get_hook wraps it
_STRAWBERRY = object()
#: (extension class, hook name) -> None (no hook), _STRAWBERRY, or (context manager factory, is_async)
_HOOKS: dict[tuple[type, str], Any] = {}


def _hook_of(cls: type, hook_name: str) -> Any:
    function = getattr(cls, hook_name)
    if function is getattr(SchemaExtension, hook_name):
        return None
    if inspect.isgeneratorfunction(function):
        return contextlib.contextmanager(function), False
    if inspect.isasyncgenfunction(function):
        return contextlib.asynccontextmanager(function), True
    return _STRAWBERRY


class _CachedHooks:
    """`get_hook` of Strawberry's phase context managers, from the per-class answer."""

    HOOK_NAME: str

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        key = (type(extension), self.HOOK_NAME)
        found = _HOOKS.get(key, _STRAWBERRY)
        if found is _STRAWBERRY and key not in _HOOKS:
            found = _HOOKS[key] = _hook_of(*key)
        if found is None:
            return None
        if found is _STRAWBERRY:
            return super().get_hook(extension)  # type: ignore[misc]
        factory, is_async = found
        return WrappedHook(extension=extension, hook=partial(factory, extension), is_async=is_async)


class _Operation(_CachedHooks, OperationContextManager):
    pass


class _Validation(_CachedHooks, ValidationContextManager):
    pass


class _Parsing(_CachedHooks, ParsingContextManager):
    pass


class _Executing(_CachedHooks, ExecutingContextManager):
    pass


class CachedHooksRunner(SchemaExtensionsRunner):
    """Strawberry's runner whose phases take their hooks from the per-class cache."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
