"""The two WebSocket protocol handlers as the server runs them: Strawberry's, with the limits
of openchannels/websocket_limits.py mixed in, and each protocol's way of answering a malformed
message or an unexpected failure (openchannels/websocket_messages.py).

- graphql-transport-ws: identical subscriptions of one viewer run once
  (openchannels/shared_subscriptions.py).
- graphql-ws (legacy): a connection_init timeout, and queries and mutations run too (`data`,
  then `complete`), as over graphql-transport-ws.
- both: an operation may name a registered document instead of sending one, and with
  PERSISTED_OPERATIONS_ONLY only such operations run for non-admins (openchannels/trusted_documents.py).
"""
from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler, Operation, _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from openchannels.trusted_documents import TrustedDocumentsWS
from openchannels.shared_subscriptions import GroupEnded, Member, SharedSubscriptions, share_key, shared_subscriptions
from openchannels.websocket_limits import ConnectionLimits
from openchannels.websocket_messages import (
    CLOSE_INTERNAL_ERROR, LEGACY_WS_OPERATIONS, LEGACY_WS_TYPES, TRANSPORT_WS_OPERATIONS, bad_request, close_reason,
)
from resolvers.context import Context
from schema.error_policy import internal_error


class LimitedTransportWSHandler(ConnectionLimits, TrustedDocumentsWS, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the limits above; identical subscriptions of one viewer run once
    (openchannels/shared_subscriptions.py)."""

    #: where identical subscriptions meet (None: each runs alone)
    shared: SharedSubscriptions | None = shared_subscriptions
    #: this connection's operations that are members of a group, while they are (None: none yet)
    _members: dict[Operation[Context, None], Member] | None = None
    enforce_init_timeout = True
    operation_messages = TRANSPORT_WS_OPERATIONS

    def on_request_accepted(self) -> None:
        """Strawberry starts its connection_init timeout here, as a task per connection; the timer
        of `ConnectionLimits.handle` times it instead (openchannels/websocket_limits.py), so
        `connection_init_timeout_task` stays None, which Strawberry's handler checks before it
        cancels or awaits the task."""

    def _init_timed_out(self) -> None:
        # as Strawberry's timeout: nothing once connection_init came in (its answer may still be on
        # its way), and a connection_init after it is ignored
        if not self.connection_init_received:
            self.connection_timed_out = True
            super()._init_timed_out()

    def runs_an_operation(self) -> bool:
        return bool(self.operations)

    async def refuse_malformed(self, message: Any, reason: str) -> None:
        await self.handle_invalid_message(reason)  # closes with 4400, as the protocol says

    async def refuse_operation(self, message: Any, error: GraphQLError) -> None:
        await self.send_message({"type": "error", "id": message["id"], "payload": [error.formatted]})

    async def answer_failure(self, message: Any, error: Exception) -> None:
        masked = internal_error(error, f"graphql-transport-ws {message.get('type')}")
        operation = self.operations.get(message.get("id"))
        if operation is not None:  # the subscribe that failed: its `error` ends it
            await operation.send_initial_errors([masked])
        else:
            await self.websocket.close(CLOSE_INTERNAL_ERROR, close_reason(masked.message))

    async def handle_task_exception(self, error: Exception) -> None:
        """An operation's task failed (Strawberry then only logged it and sent `complete`): its
        client gets the masked error first, which completes the operation."""
        masked = internal_error(error, "graphql-transport-ws operation")
        task = asyncio.current_task()
        for operation in list(self.operations.values()):
            if operation.task is task:
                with suppress(Exception):
                    await operation.send_initial_errors([masked])
                return

    async def run_operation(self, operation: Any) -> None:
        # shared only with PLAIN_EXECUTION on: _finish_shared uses Strawberry's private parts
        sharing = self.shared is not None and getattr(self.schema, "plain_execution", False)
        key = share_key(self, operation) if sharing else None
        if key is None or self.shared is None:  # (shared is set when there is a key)
            await super().run_operation(operation)
            return
        _, member = self.shared.join(key, self, operation)
        # a member needs no task: it leaves in cleanup_operation, and the group's end starts its finish
        if self._members is None:
            self._members = {}
        self._members[operation] = member
        operation.task = None

    def shared_ended(self, operation: Operation[Context, None], ending: GroupEnded) -> None:
        """The group of a member of this connection ended: its finish, in a task as a lone one's."""
        if self._members is None or self._members.pop(operation, None) is None:
            return  # it left already
        operation.task = asyncio.create_task(self._finish_shared(operation, ending))
        operation.task.add_done_callback(_retrieve_exception)

    async def cleanup_operation(self, operation_id: str) -> None:
        """The client completed the operation, or the connection closes: a member leaves its group
        (and a finish under way stops, as Strawberry stops a lone one's task); anything else is Strawberry's."""
        operation = self.operations.get(operation_id)
        member = self._members.pop(operation, None) if operation is not None and self._members else None
        if member is None:
            await super().cleanup_operation(operation_id)
            return
        del self.operations[operation_id]
        member.leave()

    async def _finish_shared(self, operation: Operation[Context, None], ending: GroupEnded) -> None:
        """What Strawberry's run_operation does once a lone subscription's stream ended (its private
        `_handle_pre_execution_error`, `_reject_incremental_delivery` and `_OperationStreamClosed`:
        pinned Strawberry, tests/engine)."""
        if ending.pre_execution_error is not None:
            try:
                await self._handle_pre_execution_error(operation, ending.pre_execution_error)
            except _OperationStreamClosed:
                return
        elif ending.incremental:
            await self._reject_incremental_delivery(operation)
        elif ending.error is not None:
            await self.handle_task_exception(ending.error)  # type: ignore[arg-type]
        with suppress(Exception):
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        if self.operations.get(operation.id) is operation:
            del self.operations[operation.id]


def _retrieve_exception(task: asyncio.Task) -> None:
    """A finished operation task's exception read (it was reported by handle_task_exception), so that
    asyncio does not log it again as never retrieved."""
    if not task.cancelled():
        task.exception()


class LimitedLegacyWSHandler(ConnectionLimits, TrustedDocumentsWS, BaseGraphQLWSHandler[Context, None]):
    """graphql-ws (legacy) with the limits above, and a connection_init timeout."""

    enforce_init_timeout = True
    operation_messages = LEGACY_WS_OPERATIONS
    known_messages = LEGACY_WS_TYPES

    def runs_an_operation(self) -> bool:
        return bool(self.tasks)

    async def refuse_malformed(self, message: Any, reason: str) -> None:
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            await self.send_message({"type": "error", "id": message["id"], "payload": bad_request(reason)})
        else:
            # Strawberry types connection_error's payload dict[str, object], which no TypedDict is for mypy
            await self.send_message({"type": "connection_error", "payload": bad_request(reason)})  # type: ignore[misc, arg-type]

    async def refuse_operation(self, message: Any, error: GraphQLError) -> None:
        await self.send_message({"type": "error", "id": message["id"], "payload": error.formatted})

    async def answer_failure(self, message: Any, error: Exception) -> None:
        masked = internal_error(error, f"graphql-ws {message.get('type')}").formatted
        if isinstance(message.get("id"), str):
            await self.send_message({"type": "error", "id": message["id"], "payload": masked})
        else:
            # Strawberry types connection_error's payload dict[str, object], which no TypedDict is for mypy
            await self.send_message({"type": "connection_error", "payload": masked})  # type: ignore[misc, arg-type]

    async def handle_async_results(self, operation_id: str, query: str, operation_name: str | None,
                                   variables: dict[str, object] | None) -> None:
        """Strawberry's, with two changes: any operation runs (`schema.stream`: a query or a
        mutation gets its `data`, then `complete`; Strawberry's `subscribe` refused them, and the
        client got an internal error), and an unexpected failure is answered with the masked
        error instead of ending the task in silence."""
        try:
            source = await self.schema.stream(query, variable_values=variables, operation_name=operation_name,
                                              context_value=self.context, root_value=self.root_value)
            self.subscriptions[operation_id] = source
            first = True
            async with aclosing(source):
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        assert result.errors  # a pre-execution error has its errors
                        await self.send_message({"type": "error", "id": operation_id,
                                                 "payload": result.errors[0].formatted})
                        return
                    if not isinstance(result, ExecutionResult):  # @defer / @stream: no frame for it here
                        await self.send_message({"type": "error", "id": operation_id, "payload": bad_request(
                            "Incremental delivery (@defer, @stream) is not supported over graphql-ws.")})
                        return
                    first = False
                    await self.send_data_message(result, operation_id)
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            await self.send_message({"type": "complete", "id": operation_id})
        except Exception as error:  # noqa: BLE001 - answered, masked; the traceback is logged
            masked = internal_error(error, "graphql-ws operation")
            with suppress(Exception):
                await self.send_message({"type": "error", "id": operation_id, "payload": masked.formatted})
        finally:
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)
