"""Identical subscriptions of one viewer run once: one execution, one serialisation, N sends.

A supervisor's wall of dashboards opens the same subscription (same document, same variables)
on many connections with the same token. Run one by one, each of them follows the broker,
re-authorises every event, executes the selection and encodes the result: a thousand times
the same work for one event, and a thousand generator stacks held per idle subscription.

So, on graphql-transport-ws, subscriptions with the same schema, document, variables,
operation name and viewer form a group (`SharedStream`): the first one's operation runs the
stream (with its connection's context: the viewer is the same for all), and every result is
encoded once and sent to each member as its own `next` frame (the members differ only in
their operation id: `Delivery` makes each distinct message once, and the WebSocket frame of it
is made once too and written straight to each socket that takes it: openchannels/websocket_direct.py).
A member is its connection's operation (Strawberry's bookkeeping: complete, the per-connection
limits) without a task of its own: it leaves when its client completes it or its connection
closes, and the group's end starts the task that sends it what a lone subscription would get
(openchannels/websocket_handlers.py). A task per member that only waited for the group to end
held 10 objects and about 1.2 KiB of each idle subscription. A member's
connection that does not read is closed by its own bounded send queue (4429), never slowing
the others. The group runs until its last member leaves or its stream ends (then every
member gets what a lone subscription would: its `complete`, or its error). A result goes out to
the members in slices (`FAN_OUT_SLICE`), the event loop free for the process's other work between
two of them. Meanwhile the group's stream goes on to its next result, and when that one is ready
before the fan-out is through (one commit often makes two: a chat queued, then offered), the members
not yet written to get both results in one write, and the members before them get the newer one in
a second pass (`SharedStream._fan_out`): a write per member and per burst rather than per result,
each member still getting every result once, in order. The stream waits while `RESULTS_AHEAD`
results are not yet through their fan-out.

Members share the token too (the viewer of a group follows its token: a revocation closes
them all, a role change reaches them all: services/identity/live_tokens.py).

Not shared (each runs alone, as before):
- a document that mentions `after`: resuming replays a backlog from a position of its own;
- a subscription whose first result is the state now, computed for it (`STARTS_WITH_STATE`:
  `visitorQueue`, `wallboard`): a member joining a running group would never get it (the
  wallboard shares its computation per channel itself: services/contact_center/wallboard.py);
- a connection with a root value, or a document or variables that cannot be keyed.

What a member that joins a running group sees: the events the group delivers from then on.
The checks made when a subscription starts (e.g. the chat is visible to the viewer, the
queues an operator belongs to) were made once, by the group's first subscription, for the
same viewer; every event is still re-authorised for that viewer when it is delivered.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Hashable
from typing import Any

from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from openchannels.websocket_direct import frame_of

log = logging.getLogger("openchannels.shared_subscriptions")


class GroupEnded:
    """How a group's stream ended, for each member to finish as a lone subscription would."""

    def __init__(self, pre_execution_error: PreExecutionError | None = None, incremental: bool = False,
                 error: BaseException | None = None) -> None:
        self.pre_execution_error = pre_execution_error
        self.incremental = incremental
        self.error = error


class Delivery:
    """One result of a group, rendered once (`number`: its place among the group's results, from 1)."""

    __slots__ = ("number", "payload")

    def __init__(self, number: int, payload: str) -> None:
        self.number = number
        self.payload = payload


class Batch:
    """The results a member is sent at once, oldest first: usually one. A member's message is a result's
    payload with the member's prefix (`{"id":<its id>,"type":"next","payload":`) spliced in front; the
    messages, and their WebSocket frames one after the other (openchannels/websocket_direct.py), are made
    once per distinct prefix (members with the same operation id, the usual case, share them)."""

    __slots__ = ("deliveries", "_texts", "_frames")

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries
        self._texts: dict[str, list[str]] = {}
        self._frames: dict[str, bytes] = {}

    def texts(self, prefix: str) -> list[str]:
        texts = self._texts.get(prefix)
        if texts is None:
            texts = self._texts[prefix] = [prefix + delivery.payload + "}" for delivery in self.deliveries]
        return texts

    def frames(self, prefix: str) -> bytes:
        frames = self._frames.get(prefix)
        if frames is None:
            frames = self._frames[prefix] = b"".join(frame_of(text) for text in self.texts(prefix))
        return frames


class Member:
    """One subscription of a group: where its frames go, the last result it was sent (`had`: the
    group's results before it joined count as sent), and whom to tell when the group ends
    (`handler.shared_ended(operation, ending)`: a member leaving never ends the group for the others)."""

    __slots__ = ("handler", "operation", "prefix", "group", "had")

    def __init__(self, handler: Any, operation: Any, group: SharedStream) -> None:
        self.handler = handler
        self.operation = operation
        self.prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        self.group = group
        self.had = group.results

    def send(self, batch: Batch) -> None:
        if not self.operation.completed:
            self.handler.websocket.send_batch(batch, self.prefix)

    def leave(self) -> None:
        self.group.leave(self)


#: members written to in one turn of the event loop. A delivery is a system call per socket (about
#: 20 µs here, most of it the kernel's): 5,000 members written in one go held the loop for about
#: 90 ms, and every request and other subscription of the process waited for them; a slice of 256
#: holds it for about 5 ms
FAN_OUT_SLICE = 256

#: turns of the event loop given to the process's other work between two slices. The group's stream works
#: on its next result meanwhile, a turn per step (each query, task and shield of it is one: some 30 for a
#: `queueChanged` result, so with one turn per slice the next result was ready only once the fan-out was
#: through, and went out in a fan-out of its own); with 4, a chat offered right after it was queued was ready
#: after 9 of the 20 slices of 5,000 members, and 2,696 of them got both results in one write (bench B2)
TURNS_BETWEEN_SLICES = 4

#: results of a group rendered and not yet through their fan-out, at most; then its stream waits
RESULTS_AHEAD = 16


#: subscriptions whose first result is the state at subscribe time (not only what happens from then on)
STARTS_WITH_STATE = ("visitorQueue", "wallboard")


def share_key(handler: Any, operation: Any) -> Hashable | None:
    """The group an operation belongs to, or None when it must run alone."""
    query = operation.query
    if handler.root_value is not None or not _only_a_subscription(query) or "after" in query \
            or any(name in query for name in STARTS_WITH_STATE):
        return None
    try:
        variables = json.dumps(operation.variables, sort_keys=True, separators=(",", ":"))
        viewer = handler.context.viewer
        hash(viewer)
    except Exception:  # noqa: BLE001 - not keyable (or no viewer): run alone
        return None
    # the token too: the group's stream runs in its first connection's context, which follows
    # that connection's token (services/identity/live_tokens.py); a member with another token could
    # outlive it, revoked, or keep an old viewer
    token = getattr(handler.context, "token_digest", None)
    # and the address the URLs in the results are built on (openchannels/public_url.py)
    public_url = getattr(handler.context, "public_url", "")
    return (id(handler.schema), query, variables, operation.operation_name, viewer, token, public_url)


def _only_a_subscription(query: Any) -> bool:
    """A document of one subscription and nothing else (a query or mutation sent over the
    WebSocket runs for each caller). Conservative: a field named like a keyword runs alone."""
    return (isinstance(query, str) and query.lstrip().startswith("subscription")
            and "query" not in query and "mutation" not in query and "fragment" not in query)


class SharedStream:
    """One group: one stream, its results sent to every member."""

    def __init__(self, registry: SharedSubscriptions, key: Hashable, handler: Any, operation: Any) -> None:
        self._registry = registry
        self._key = key
        self.members: dict[int, Member] = {}
        self.ended: asyncio.Future[GroupEnded] = asyncio.get_running_loop().create_future()
        #: the results rendered so far (tests: how often the selection was executed)
        self.results = 0
        #: the results some member has not been sent yet, oldest first (numbered without gaps)
        self._ready: list[Delivery] = []
        #: sends what is ready, then ends (an idle group holds no task besides its stream's)
        self._sender: asyncio.Task | None = None
        self._task = asyncio.create_task(self._run(handler, operation), name="shared-subscription")

    def join(self, handler: Any, operation: Any) -> Member:
        member = Member(handler, operation, self)
        self.members[id(member)] = member
        return member

    def leave(self, member: Member) -> None:
        self.members.pop(id(member), None)
        if not self.members and not self.ended.done():
            self._stop(GroupEnded())

    def _stop(self, ending: GroupEnded) -> None:
        """End the group now: its stream and its fan-out stop, each member gets `ending`."""
        self._registry.forget(self._key, self)
        self._task.cancel()
        if self._sender is not None:
            self._sender.cancel()
        self._end(ending)

    async def _run(self, handler: Any, operation: Any) -> None:
        try:
            try:
                ending = await self._stream(handler, operation)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - every member logs and completes, as a lone one would
                ending = GroupEnded(error=error)
            await self._sent()  # what the stream gave before it ended goes out first
        except asyncio.CancelledError:
            return
        self._registry.forget(self._key, self)
        self._end(ending)

    async def _stream(self, handler: Any, operation: Any) -> GroupEnded:
        source = await handler.schema.stream(operation.query, variable_values=operation.variables,
                                             context_value=handler.context, root_value=None,
                                             operation_name=operation.operation_name)
        first = True
        async with aclosing(source):
            async for result in source:
                if first and isinstance(result, PreExecutionError):
                    return GroupEnded(pre_execution_error=result)
                if not isinstance(result, ExecutionResult):
                    return GroupEnded(incremental=True)
                first = False
                await self._add(handler.view, result)
        return GroupEnded()

    async def _add(self, view: Any, result: ExecutionResult) -> None:
        """Render a result once and have it sent to every member; the stream goes on meanwhile (to its next
        result), unless RESULTS_AHEAD results are still going out."""
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        self.results += 1
        self._ready.append(Delivery(self.results, view.encode_json_string(payload)))
        if self._sender is None:
            self._sender = asyncio.create_task(self._fan_out(), name="shared-subscription-fan-out")
            await asyncio.sleep(0)  # its first slice goes out before the stream works on its next result
        elif len(self._ready) >= RESULTS_AHEAD:
            await self._sent()

    async def _sent(self) -> None:
        """Until every member has every result rendered so far."""
        if self._sender is not None:
            await self._sender

    async def _fan_out(self) -> None:
        """Send what is ready to every member, in slices. Each slice's members get every result they lack that
        is ready when the slice goes out, in one batch: when the stream rendered its next result during the
        fan-out, the later slices get both at once, and a second pass gives the earlier ones the newer result.
        Should sending fail, the group ends with the error, as when its stream fails."""
        try:
            while self._ready:
                members = list(self.members.values())
                # by the last result their members had and the newest ready: made (and framed) once per pass
                batches: dict[tuple[int, int], Batch] = {}
                for start in range(0, len(members), FAN_OUT_SLICE):
                    if start:  # the process's other work (and the stream's next result) gets the loop in between
                        for _ in range(TURNS_BETWEEN_SLICES):
                            await asyncio.sleep(0)
                    ready = self._ready
                    oldest, newest = ready[0].number, ready[-1].number
                    for member in members[start:start + FAN_OUT_SLICE]:
                        had = member.had
                        if had < newest:
                            batch = batches.get((had, newest))
                            if batch is None:
                                batch = batches[had, newest] = Batch(ready[max(had - oldest + 1, 0):])
                            member.had = newest
                            member.send(batch)
                had_all = min((member.had for member in self.members.values()), default=self.results)
                self._ready = [delivery for delivery in self._ready if delivery.number > had_all]
        except Exception as error:  # noqa: BLE001 - every member logs and completes, as a lone one would
            self._sender = None
            self._stop(GroupEnded(error=error))
        finally:
            self._sender = None

    def _end(self, ending: GroupEnded) -> None:
        if not self.ended.done():
            self.ended.set_result(ending)
        members, self.members = self.members, {}
        for member in members.values():
            member.handler.shared_ended(member.operation, ending)


class SharedSubscriptions:
    """This process's groups, by key."""

    def __init__(self) -> None:
        self._groups: dict[Hashable, SharedStream] = {}

    def join(self, key: Hashable, handler: Any, operation: Any) -> tuple[SharedStream, Member]:
        group = self._groups.get(key)
        if group is None or group.ended.done():
            group = self._groups[key] = SharedStream(self, key, handler, operation)
        return group, group.join(handler, operation)

    def forget(self, key: Hashable, group: SharedStream) -> None:
        if self._groups.get(key) is group:
            del self._groups[key]

    def __len__(self) -> int:
        return len(self._groups)


#: the groups of this process
shared_subscriptions = SharedSubscriptions()
