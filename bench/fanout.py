"""B2 fan-out: WebSocket subscribers of one channel's queue and of one chat, and idle memory.

The subscribers live in a process of their own (`python -m bench.fanout`, graphql-transport-ws),
never in the server's:

- `fanout`: N connections subscribe to `queueChanged` of one open channel and N to
  `chatEvents` of one chat (each connection one subscription, the supervisor token).
  Warm-up events prove every subscription of both live (`prove_live`) before either is
  measured; then, event by event, a mutation (`startVisitorChat` into the channel,
  `sendMessage` into the chat by its operator) is sent and the time from its HTTP response
  to each subscriber's receipt of that event (matched by the new chat's / message's id) is
  recorded. An event that arrives before the response counts as 0 ms. Receiving and parsing
  the N frames in this one process is part of the figure, so the subscribers are picows
  connections (a Cython WebSocket client): each frame is parsed (orjson) and its receipt time
  recorded in the listener's callback, with no task per connection, and a count per key wakes
  the wait for an event's last receipt (`Receipts`). That costs the driver 4-6 x less CPU per
  receipt than websockets' asyncio client with a reader task per connection did (bench/HISTORY.md,
  "Issue #18 on 2026-12-03").
- `hold`: M connections (websockets' asyncio client), each with 3 subscriptions
  (`queueChanged`, `chatEvents`, `myChatsChanged`), are opened; `sendMessage`s prove every
  connection's `chatEvents` live; a JSON line `{"ready": M}` is printed and the connections
  are held until stdin closes. B2 idle (`measure_idle`, in the bench process) runs one holder or several at once (each
  process holds at most `IDLE_PER_DRIVER` sockets: the hard limit on open files is per
  process) and reads the VmRSS (/proc/<pid>/status) of each of the server's processes before
  and after: the growth, summed over the processes, per connection gives KiB per
  connection. A warm-up of a few connections is opened and closed first so one-off
  allocations (code paths run for the first time) are not counted per connection; at N
  server processes it is repeated until each process has served some.

`fanout` writes its result as JSON to `--result-file` (bench/driver_results.py), or prints it.
`hold`'s connections offer permessage-deflate, as browsers do; picows has none (the bench server
runs without it: `--ws-per-message-deflate false`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from bench import driver_results
from bench.cpu import status_kib
from bench.processes import REPO_ROOT, cpu_spent, tree_cpu
from openchannels.open_files import raise_open_files_limit

CONNECT_PARALLEL = 100
EVENT_TIMEOUT = 60.0

QUEUE_SUBSCRIPTION = ("subscription($ch: [ID!]) { queueChanged(openChannelIds: $ch) "
                      "{ eventId kind chat { id title } queueLength } }")
CHAT_SUBSCRIPTION = ("subscription($chat: ID!) { chatEvents(chatId: $chat) "
                     "{ eventId kind chat { id title } message { id text } } }")
MY_CHATS_SUBSCRIPTION = "subscription { myChatsChanged { eventId kind chat { id } } }"
START_VISITOR_CHAT = ("mutation($ch: ID!) { startVisitorChat(input: {openChannelId: $ch, name: \"Bench Visitor\", "
                      "text: \"Hello from the bench\"}) { chat { id } userErrors { code message } } }")
SEND_MESSAGE = ("mutation($chat: ID!, $text: String!) { sendMessage(input: {chatId: $chat, text: $text}) "
                "{ message { id } userErrors { code message } } }")


def raise_file_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit, as `openchannels serve` raises it (children inherit
    it); returns the new soft limit."""
    return raise_open_files_limit()[1]


@dataclass
class Connection:
    """One graphql-transport-ws connection; records the first receipt time of each key."""

    ws: Any
    receipts: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    reader: asyncio.Task | None = None

    async def subscribe(self, operation_id: str, query: str, variables: dict) -> None:
        await self.ws.send(json.dumps({"id": operation_id, "type": "subscribe",
                                       "payload": {"query": query, "variables": variables}}))

    async def read(self) -> None:
        try:
            async for frame in self.ws:
                now = time.perf_counter()
                message = json.loads(frame)
                if message.get("type") == "next":
                    payload = message["payload"]
                    if payload.get("errors"):
                        self.errors.append(json.dumps(payload["errors"])[:300])
                    for key in event_keys(payload.get("data") or {}):
                        self.receipts.setdefault(key, now)
                elif message.get("type") == "error":
                    self.errors.append(json.dumps(message.get("payload"))[:300])
                elif message.get("type") == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
        except Exception as error:  # a closed connection: recorded, the wait then times out on it
            self.errors.append(f"{type(error).__name__}: {error}"[:300])

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        await self.ws.close()


def event_keys(data: dict) -> list[str]:
    """`queue:<chat id>` for a queue event, `message:<message id>` for a chat event with a message."""
    keys = []
    queue = data.get("queueChanged")
    if queue and queue.get("chat"):
        keys.append(f"queue:{queue['chat']['id']}")
    for name in ("chatEvents", "myChatsChanged"):
        event = data.get(name)
        if event and event.get("message"):
            keys.append(f"message:{event['message']['id']}")
    return keys


class Receipts:
    """How many subscribers received each key, and the waits for a key's last receipt."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.waits: dict[str, tuple[int, asyncio.Event]] = {}
        #: `next` messages received in all (an event may bring a subscriber more than one)
        self.messages = 0

    def received(self, key: str) -> None:
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        wait = self.waits.get(key)
        if wait is not None and count >= wait[0]:
            wait[1].set()

    async def wait(self, key: str, subscribers: int, timeout: float = EVENT_TIMEOUT) -> int:
        """Wait until `subscribers` subscribers received `key`; returns how many never did."""
        if self.counts.get(key, 0) < subscribers:
            done = asyncio.Event()
            self.waits[key] = (subscribers, done)
            try:
                await asyncio.wait_for(done.wait(), timeout)
            except asyncio.TimeoutError:
                pass
            finally:
                del self.waits[key]
        return max(0, subscribers - self.counts.get(key, 0))


PONG = orjson.dumps({"type": "pong"})


class Subscriber(WSListener):
    """One picows graphql-transport-ws connection: each frame parsed in picows's callback, the first
    receipt time of each key recorded there and counted in `Receipts`; no task of its own."""

    def __init__(self, counter: Receipts) -> None:
        self.counter = counter
        self.receipts: dict[str, float] = {}
        self.errors: list[str] = []
        self.transport: WSTransport | None = None
        self.acknowledged: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closing = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = time.perf_counter()
        kind = frame.msg_type
        if kind is WSMsgType.TEXT and frame.fin:
            message = orjson.loads(frame.get_payload_as_memoryview())
            type_ = message.get("type")
            if type_ == "next":
                self.counter.messages += 1
                payload = message["payload"]
                if payload.get("errors"):
                    self.errors.append(json.dumps(payload["errors"])[:300])
                for key in event_keys(payload.get("data") or {}):
                    if key not in self.receipts:
                        self.receipts[key] = now
                        self.counter.received(key)
            elif type_ == "ping":
                transport.send(WSMsgType.TEXT, PONG)
            elif type_ == "connection_ack":
                if not self.acknowledged.done():
                    self.acknowledged.set_result(None)
            elif type_ == "error":
                self.errors.append(json.dumps(message.get("payload"))[:300])
        elif kind is WSMsgType.CLOSE:
            self.errors.append(f"closed by the server: {frame.get_close_code()} {frame.get_close_reason()}"[:300])
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif kind is not WSMsgType.PONG and kind is not WSMsgType.PING:
            self.errors.append(f"unexpected frame: {kind.name} fin={frame.fin}")

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closing:
            self.errors.append("disconnected")
        if not self.acknowledged.done():
            self.acknowledged.set_exception(RuntimeError(f"disconnected before connection_ack: {self.errors}"))

    def send(self, message: dict) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, orjson.dumps(message))

    async def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.send_close()
            self.transport.disconnect()
            await self.transport.wait_disconnected()


async def open_subscriber(ws_url: str, token: str, counter: Receipts,
                          subscriptions: list[tuple[str, dict]]) -> Subscriber:
    _, subscriber = await ws_connect(lambda: Subscriber(counter), ws_url, websocket_handshake_timeout=60,
                                     enable_auto_pong=True, max_frame_size=2 ** 22,
                                     extra_headers={"Sec-WebSocket-Protocol": "graphql-transport-ws"})
    assert isinstance(subscriber, Subscriber)
    subscriber.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    await asyncio.wait_for(subscriber.acknowledged, 60)
    for index, (query, variables) in enumerate(subscriptions):
        subscriber.send({"id": str(index + 1), "type": "subscribe",
                         "payload": {"query": query, "variables": variables}})
    return subscriber


async def open_subscribers(count: int, ws_url: str, token: str, counter: Receipts,
                           subscriptions: list[tuple[str, dict]]) -> list[Subscriber]:
    gate = asyncio.Semaphore(CONNECT_PARALLEL)

    async def one() -> Subscriber:
        async with gate:
            return await open_subscriber(ws_url, token, counter, subscriptions)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def open_connection(ws_url: str, token: str, subscriptions: list[tuple[str, dict]]) -> Connection:
    from websockets.asyncio.client import connect

    ws = await connect(ws_url, subprotocols=["graphql-transport-ws"], ping_interval=None, open_timeout=60,
                       max_size=2 ** 22)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    connection = Connection(ws)
    connection.reader = asyncio.create_task(connection.read())
    for index, (query, variables) in enumerate(subscriptions):
        await connection.subscribe(str(index + 1), query, variables)
    return connection


async def open_many(count: int, ws_url: str, token: str, subscriptions: list[tuple[str, dict]]) -> list[Connection]:
    gate = asyncio.Semaphore(CONNECT_PARALLEL)

    async def one() -> Connection:
        async with gate:
            return await open_connection(ws_url, token, subscriptions)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def prove_live(connections: list[Any], trigger, timeout: float = EVENT_TIMEOUT) -> None:
    """Trigger events until every connection received one of them: each subscription is then live.

    A `subscribe` is answered by nothing in graphql-transport-ws, and a subscription that
    starts after an event never sees it, so one event may not be enough: another is sent
    only when receipts stopped coming for 2 s while some connection still has none
    (never while the server is still delivering, which would pile events up on it).
    """
    keys: set[str] = set()
    deadline = time.perf_counter() + timeout
    key, _ = await trigger()
    keys.add(key)
    holders, progress_at = 0, time.perf_counter()
    while True:
        now = time.perf_counter()
        count = sum(1 for c in connections if not keys.isdisjoint(c.receipts))
        if count == len(connections):
            return
        if count > holders:
            holders, progress_at = count, now
        elif now - progress_at > 2.0:
            key, _ = await trigger()
            keys.add(key)
            progress_at = time.perf_counter()
        if now >= deadline:
            errors = next((c.errors[0] for c in connections if c.errors), "none")
            raise RuntimeError(f"{len(connections) - count} of {len(connections)} subscribers received none of "
                               f"{len(keys)} events in {timeout:g}s (first error: {errors})")
        await asyncio.sleep(0.01)


class Mutations:
    def __init__(self, http_url: str, operator_token: str, channel_id: str, chat_id: str) -> None:
        self.http = httpx.AsyncClient(timeout=600)  # a server busy delivering to 10,000 sockets answers late
        self.url, self.token, self.channel_id, self.chat_id = http_url, operator_token, channel_id, chat_id
        self.sent = 0
        self.created_chats: list[str] = []

    async def _post(self, query: str, variables: dict, token: str | None) -> tuple[dict, float]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = await self.http.post(self.url, json={"query": query, "variables": variables}, headers=headers)
        received = time.perf_counter()
        body = answer.json()
        if answer.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"mutation failed: HTTP {answer.status_code} {answer.text[:300]}")
        return body["data"], received

    async def queue_event(self) -> tuple[str, float]:
        data, received = await self._post(START_VISITOR_CHAT, {"ch": self.channel_id}, None)
        payload = data["startVisitorChat"]
        if payload["userErrors"] or not payload["chat"]:
            raise RuntimeError(f"startVisitorChat: {payload['userErrors']}")
        self.created_chats.append(payload["chat"]["id"])
        return f"queue:{payload['chat']['id']}", received

    async def chat_event(self) -> tuple[str, float]:
        self.sent += 1
        data, received = await self._post(SEND_MESSAGE, {"chat": self.chat_id, "text": f"bench fan-out {self.sent}"},
                                          self.token)
        payload = data["sendMessage"]
        if payload["userErrors"] or not payload["message"]:
            raise RuntimeError(f"sendMessage: {payload['userErrors']}")
        return f"message:{payload['message']['id']}", received


async def measure(connections: list[Subscriber], counter: Receipts, trigger, events: int,
                  server_pid: int = 0) -> dict:
    """Latency to each subscriber per event, and the CPU the events cost: the server's (its whole
    process, the mutation's own work included) and this driver's (receiving and parsing the frames).
    Every subscription of the run is live before (`fanout`): none is still being set up meanwhile."""
    every, last, lost = [], [], 0
    messages_before = counter.messages
    server_before, driver_before = tree_cpu(server_pid) if server_pid else {}, time.process_time()
    for _ in range(events):
        await asyncio.sleep(0.1)
        key, responded = await trigger()
        lost += await counter.wait(key, len(connections))
        times = [max(0.0, c.receipts[key] - responded) * 1000 for c in connections if key in c.receipts]
        every += times
        if times:
            last.append(max(times))
    # every process of the server (uvicorn's workers under --workers N)
    server_cpu = sum(cpu_spent(server_before, tree_cpu(server_pid)).values()) if server_pid else None
    driver_cpu = time.process_time() - driver_before
    return {"every_ms": every, "last_ms": last, "lost": lost, "subscribers": len(connections), "events": events,
            "server_cpu_s": server_cpu, "driver_cpu_s": driver_cpu, "messages": counter.messages - messages_before}


async def fanout(args: argparse.Namespace) -> dict:
    mutations = Mutations(args.http_url, args.operator_token, args.channel_id, args.chat_id)
    queue_receipts, chat_receipts = Receipts(), Receipts()
    queue = await open_subscribers(args.subscribers, args.ws_url, args.token, queue_receipts,
                                   [(QUEUE_SUBSCRIPTION, {"ch": [args.channel_id]})])
    chat = await open_subscribers(args.subscribers, args.ws_url, args.token, chat_receipts,
                                  [(CHAT_SUBSCRIPTION, {"chat": args.chat_id})])
    try:
        # both groups live before either is measured: the server sets up the chat's subscriptions
        # after their `subscribe`, which would otherwise cost it CPU during the queue's events
        for group, trigger in ((queue, mutations.queue_event), (chat, mutations.chat_event)):
            await prove_live(group, trigger, timeout=max(EVENT_TIMEOUT, len(group) / 20))
        result = {"queueChanged": await measure(queue, queue_receipts, mutations.queue_event, args.events,
                                                args.server_pid),
                  "chatEvents": await measure(chat, chat_receipts, mutations.chat_event, args.events,
                                              args.server_pid)}
    finally:
        await asyncio.gather(*(c.close() for c in queue + chat), return_exceptions=True)
        await mutations.http.aclose()
    result["created_chats"] = mutations.created_chats
    return result


async def floor(args: argparse.Namespace) -> dict:
    """The same subscribers and measure against bench/fanout_floor.py's server: each event is
    triggered by a `floor_event` message on a connection of its own (which did not subscribe),
    timed from its sending."""
    counter = Receipts()
    subscribers = await open_subscribers(args.subscribers, args.ws_url, "floor", counter,
                                         [(CHAT_SUBSCRIPTION, {"chat": "floor"})])
    control = await open_subscriber(args.ws_url, "floor", Receipts(), [])
    sent = 0

    async def trigger() -> tuple[str, float]:
        nonlocal sent
        sent += 1
        control.send({"type": "floor_event", "id": f"floor-{sent}"})
        return f"message:floor-{sent}", time.perf_counter()

    try:
        await prove_live(subscribers, trigger)
        return {"chatEvents": await measure(subscribers, counter, trigger, args.events, args.server_pid)}
    finally:
        await asyncio.gather(*(c.close() for c in [*subscribers, control]), return_exceptions=True)


async def hold(args: argparse.Namespace) -> dict:
    """Open `--connections` connections with 3 subscriptions each, prove them live, print
    `{"ready": n}` and hold them until stdin closes (or gives a line); then close them."""
    mutations = Mutations(args.http_url, args.operator_token, args.channel_id, args.chat_id)
    three = [(QUEUE_SUBSCRIPTION, {"ch": [args.channel_id]}), (CHAT_SUBSCRIPTION, {"chat": args.chat_id}),
             (MY_CHATS_SUBSCRIPTION, {})]
    try:
        connections = await open_many(args.connections, args.ws_url, args.token, three)
        await prove_live(connections, mutations.chat_event, timeout=max(EVENT_TIMEOUT, args.connections / 50))
        print(json.dumps({"ready": len(connections)}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        # a connection whose reader stopped while held (closed by the server) recorded an error
        broken = sum(1 for c in connections if c.errors)
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
    finally:
        await mutations.http.aclose()
    return {"closed": len(connections), "broken": broken}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("fanout", "hold", "floor"))
    parser.add_argument("--http-url", default="", help="fanout, hold: the server's GraphQL URL")
    parser.add_argument("--ws-url", required=True)
    parser.add_argument("--token", default="", help="fanout, hold: the subscribers' token")
    parser.add_argument("--operator-token", default="", help="fanout, hold: the token of the chat's responsible operator")
    parser.add_argument("--channel-id", default="")
    parser.add_argument("--chat-id", default="")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--server-pid", type=int, default=0)
    driver_results.add_option(parser)
    args = parser.parse_args(argv)
    if args.mode != "floor" and not all((args.http_url, args.token, args.operator_token, args.channel_id, args.chat_id)):
        parser.error(f"{args.mode} needs --http-url, --token, --operator-token, --channel-id and --chat-id")
    raise_file_limit()
    try:
        from uvloop import run
    except ImportError:
        run = asyncio.run
    result = run(fanout(args) if args.mode == "fanout" else hold(args) if args.mode == "hold" else floor(args))
    driver_results.hand_back(result, args.result_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# ---------------------------------------------------------------------------- in the bench process


def driver_command(mode: str, graphql: Any, targets: Any, **options: int) -> list[str]:
    command = [sys.executable, "-m", "bench.fanout", mode, "--http-url", f"{graphql.base_url}/graphql",
               "--ws-url", f"ws://127.0.0.1:{graphql.port}/graphql", "--token", targets.supervisor_token,
               "--operator-token", targets.fanout_operator_token, "--channel-id", targets.channel_id,
               "--chat-id", targets.fanout_chat_id, "--server-pid", str(graphql.process.pid)]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return command


def drive_fanout(mode: str, graphql: Any, targets: Any, **options: int) -> dict:
    """Run the subscribers' process and return what it measured."""
    return _run_driver(mode, driver_command(mode, graphql, targets, **options))


def _run_driver(mode: str, command: list[str]) -> dict:
    """A `python -m bench.fanout` process run to its end: the JSON it wrote to its result file (its
    every receipt's latency, about 1 MB at 5,000 subscribers: bench/driver_results.py)."""
    return driver_results.run_driver(command, f"bench.fanout {mode}", timeout=900)


def drive_floor(subscribers: int, events: int) -> dict:
    """B2's floor: bench/fanout_floor.py's server started, the same driver run against it
    (`floor` mode), the server stopped; returns the driver's measure of it."""
    import subprocess

    server = subprocess.Popen([sys.executable, "-m", "bench.fanout_floor"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        assert server.stdout is not None
        port = json.loads(server.stdout.readline())["port"]
        return _run_driver("floor", [sys.executable, "-m", "bench.fanout", "floor", "--ws-url",
                                     f"ws://127.0.0.1:{port}/", "--subscribers", str(subscribers),
                                     "--events", str(events), "--server-pid", str(server.pid)])["chatEvents"]
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---------------------------------------------------------------------------- B2 idle

#: idle connections one driver process holds at most (each is an open file; the hard limit is per process)
IDLE_PER_DRIVER = 10_000
#: open files a server process needs beside its connections (listening socket, database pool, Redis, logs)
SERVER_SPARE_FILES = 200
#: warm-up connections per server process
WARM_PER_PROCESS = 50


def idle_capacity(workers: int) -> int:
    """The most idle connections a server of `workers` processes can hold under this process's
    open-file limit (which the servers inherit), were the kernel to spread them evenly."""
    return workers * (raise_file_limit() - SERVER_SPARE_FILES)


def socket_count(pid: int) -> int:
    """Sockets the process has open (/proc/<pid>/fd)."""
    import os

    count = 0
    try:
        for entry in os.scandir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(entry.path).startswith("socket:"):
                    count += 1
            except OSError:
                pass
    except OSError:
        return 0
    return count


@dataclass
class Holder:
    """A `python -m bench.fanout hold` process."""

    process: Any
    connections: int
    stderr: Any

    def line(self, timeout: float) -> dict:
        import select

        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        text = self.process.stdout.readline() if ready else ""
        if not text:
            self.process.kill()
            self.stderr.seek(0)
            raise RuntimeError(f"bench.fanout hold of {self.connections} connections: no answer in {timeout:g}s "
                               f"(exit {self.process.poll()}):\n{self.stderr.read()[-3000:]}")
        return json.loads(text)

    def release(self) -> dict:
        self.process.stdin.close()
        answer = self.line(300)
        self.process.wait(60)
        self.stderr.close()
        return answer


def start_holders(graphql: Any, targets: Any, count: int) -> list[Holder]:
    """Holders of `count` connections in all, split evenly over as few processes as the limit allows."""
    import subprocess
    import tempfile

    per_driver = min(IDLE_PER_DRIVER, raise_file_limit() - SERVER_SPARE_FILES)
    drivers = -(-count // per_driver)
    holders = []
    for index in range(drivers):
        share = count // drivers + (1 if index < count % drivers else 0)
        stderr = tempfile.TemporaryFile("w+")
        process = subprocess.Popen(driver_command("hold", graphql, targets, connections=share), cwd=REPO_ROOT,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)
        holders.append(Holder(process, share, stderr))
    return holders


def hold_all(holders: list[Holder]) -> None:
    """Wait until every holder's connections are open and live."""
    for holder in holders:
        # each proves its own live within max(60, n / 50) s of opening them (bench.fanout.hold); opening
        # 10,000 took 8 minutes on a busy machine
        holder.line(300 + max(EVENT_TIMEOUT, holder.connections / 50) + holder.connections / 5)


def server_processes(root: int) -> dict[int, str]:
    """The server's processes and their roles (bench/processes.py: supervisor, worker, resource tracker)."""
    from bench.processes import process_tree, role

    return {pid: role(pid, root) for pid in process_tree(root)}


def measure_idle(graphql: Any, targets: Any, connections: int) -> dict:
    """B2 idle on `graphql` (one process or several): warm up each worker, read every server process's
    VmRSS and sockets, open and prove `connections` connections from as many driver processes as
    needed, read them again, close them."""
    import time as clock

    root = graphql.process.pid
    processes = server_processes(root)
    workers = [pid for pid, kind in processes.items() if kind == "worker"]
    warm_rounds = 0
    served: set[int] = set()
    while warm_rounds < 5 and not served >= set(workers):
        # a few connections opened and closed: one-off allocations are not counted per connection;
        # again until each worker has accepted some (the kernel picks the worker of each connection)
        sockets = {pid: socket_count(pid) for pid in workers}
        warm = start_holders(graphql, targets, min(WARM_PER_PROCESS * len(workers), connections))
        hold_all(warm)
        served |= {pid for pid in workers if socket_count(pid) > sockets[pid]}
        for holder in warm:
            holder.release()
        warm_rounds += 1
    clock.sleep(1.0)
    before = {pid: (status_kib(pid, "VmRSS"), socket_count(pid)) for pid in processes}
    holders = start_holders(graphql, targets, connections)
    try:
        hold_all(holders)
        clock.sleep(1.0)
        after = {pid: (status_kib(pid, "VmRSS"), socket_count(pid)) for pid in processes}
    finally:
        released = [holder.release() for holder in holders if holder.process.poll() is None]
    growth = sum(after[pid][0] - before[pid][0] for pid in processes)
    return {"connections": connections, "drivers": len(holders), "warm_rounds": warm_rounds,
            "warmed": sorted(served), "broken": sum(answer.get("broken", 0) for answer in released),
            "processes": [{"pid": pid, "role": kind, "rss_before_kib": before[pid][0], "rss_after_kib": after[pid][0],
                           "sockets_before": before[pid][1], "sockets_after": after[pid][1]}
                          for pid, kind in processes.items()],
            "kib_per_connection": growth / connections}


CLOSE_AND_AGE = """
UPDATE chat SET status = 'CLOSED', auto_close_at = NULL,
  created_at = (SELECT MIN(created_at) FROM chat) - interval '1 day',
  last_activity_at = (SELECT MIN(created_at) FROM chat) - interval '1 day',
  closed_at = (SELECT MIN(created_at) FROM chat) - interval '1 day'
WHERE id = ANY($1::int[])
"""


async def close_visitor_chats(url: str, chat_ids: list[str]) -> None:
    """Close the chats B2 started and date them before the seed's first chat, so the next run's queue,
    offers and newest-first lists (B1, B6: a visitor chat has no operator) are as seeded."""
    import asyncpg

    from resolvers.ids import decode_id

    ids = [decode_id(chat_id, "Chat", ["chatId"]) for chat_id in chat_ids]
    db = await asyncpg.connect(url, timeout=10)
    try:
        async with db.transaction():
            await db.execute("DELETE FROM chat_offer WHERE chat_id = ANY($1::int[])", ids)
            await db.execute(CLOSE_AND_AGE, ids)
    finally:
        await db.close()


def run_b2(graphql: Any, url: str, targets: Any, args: argparse.Namespace, fresh_server: Any = None) -> list:
    """B2's rows: fan-out on `graphql`, then idle memory on `fresh_server()` (a server started for
    it, stopped after) when given."""
    from bench.load import percentile
    from bench.run import Row, ratio, verdict

    rows = []
    print(f"[bench] B2 fan-out: {args.subscribers} subscribers on queueChanged and on chatEvents, "
          f"{args.events} events each", flush=True)
    result = drive_fanout("fanout", graphql, targets, subscribers=args.subscribers, events=args.events)
    asyncio.run(close_visitor_chats(url, result["created_chats"]))
    floor = drive_floor(args.subscribers, args.events)
    floor_last = sorted(floor["last_ms"])
    floor_p99 = round(percentile(floor_last, 0.99), 2)
    floor_label = f"B2 floor ({floor['subscribers']} subscribers)"
    print(f"[bench] {floor_label}: a bare server writing each event's frame to every subscriber: last subscriber "
          f"p99 {floor_p99} ms, lost {floor['lost']}{_cpu_text(floor)}", flush=True)
    for name in ("queueChanged", "chatEvents"):
        measured = result[name]
        every, last = sorted(measured["every_ms"]), sorted(measured["last_ms"])
        label = f"B2 {name} ({measured['subscribers']} subscribers)"
        last_p99 = round(percentile(last, 0.99), 2)
        deliveries = measured["events"] * measured["subscribers"]
        print(f"[bench] {label}: p50 {percentile(every, 0.5):.1f} ms, p99 {percentile(every, 0.99):.1f} ms, "
              f"last subscriber p99 {last_p99} ms, lost {measured['lost']}{_cpu_text(measured)}", flush=True)
        # the chat's events are one `next` per subscriber, as the floor's: its baseline
        floor_side = name == "chatEvents" and floor["subscribers"] == measured["subscribers"]
        rows += [
            Row(label, "p50 ms, every receipt", round(percentile(every, 0.50), 2)),
            Row(label, "p99 ms, every receipt", round(percentile(every, 0.99), 2)),
            Row(label, "p50 ms, last subscriber", round(percentile(last, 0.50), 2)),
            Row(label, "p99 ms, last subscriber", last_p99, target="<= 100 ms",
                baseline=floor_p99 if floor_side else None, ratio=ratio(last_p99, floor_p99) if floor_side else None,
                verdict=verdict(last_p99 <= 100) if measured["subscribers"] >= 1000 else "n/a (< 1,000)",
                note=f"{measured['events']} events; from the mutation's HTTP response to each receipt"
                     + (f"; baseline: the floor (bench/fanout_floor.py), the same frames written to as many "
                        f"subscribers by a server that does nothing else, from its trigger: p50 "
                        f"{percentile(floor_last, 0.5):.1f} ms, lost {floor['lost']}{_cpu_text(floor)}"
                        if floor_side else "")),
            Row(label, "lost receipts", f"{measured['lost']}/{measured['events'] * measured['subscribers']}"),
        ]
        if measured.get("server_cpu_s") is not None and deliveries:
            # what one more subscriber costs: the server's CPU over the measured events, per delivery
            # (the events' own mutations included: a constant per event, small beside N deliveries)
            rows.append(Row(label, "server CPU us per delivery", round(measured["server_cpu_s"] / deliveries * 1e6, 1),
                            note=f"{measured['server_cpu_s']:.2f} s of server CPU for {deliveries} deliveries "
                                 f"(/proc/<pid>/stat, 10 ms ticks); the driver spent "
                                 f"{measured['driver_cpu_s'] / deliveries * 1e6:.1f} us per receipt "
                                 "on the same cores" + per_event_messages(measured)))
    print(f"[bench] B2 idle: {args.idle_connections} connections with 3 subscriptions each", flush=True)
    idle_server = fresh_server() if fresh_server is not None else graphql
    try:
        idle_result = measure_idle(idle_server, targets, args.idle_connections)
    finally:
        if idle_server is not graphql:
            idle_server.stop()
    return rows + idle_rows(idle_result)


def _cpu_text(measured: dict) -> str:
    """The server's CPU per delivery and the driver's per receipt, when measured."""
    deliveries = measured["events"] * measured["subscribers"]
    if measured.get("server_cpu_s") is None or not deliveries:
        return ""
    return (f", server {measured['server_cpu_s'] / deliveries * 1e6:.1f} us per delivery, driver "
            f"{measured['driver_cpu_s'] / deliveries * 1e6:.1f} us per receipt, "
            f"{measured.get('messages', 0) / deliveries:.2f} messages per receipt")


def per_event_messages(measured: dict) -> str:
    """The `next` messages each subscriber got per event, when an event brought more than one."""
    per_receipt = measured.get("messages", 0) / max(1, measured["events"] * measured["subscribers"])
    return f"; {per_receipt:.2f} `next` messages per subscriber and event" if per_receipt > 1.005 else ""


def idle_rows(result: dict) -> list:
    """B2 idle's rows: KiB per connection (the VmRSS growth of every server process, summed, over the
    connections), and at N processes how the kernel spread the connections over the workers."""
    from bench.run import Row, verdict

    workers = [p for p in result["processes"] if p["role"] == "worker"]
    label = f"B2 idle ({result['connections']} connections x 3 subscriptions"
    label += f", {len(workers)} server processes)" if len(workers) > 1 else ")"
    per_connection = round(result["kib_per_connection"], 1)
    drivers = f"; held by {result['drivers']} driver processes" if result["drivers"] > 1 else ""
    if len(workers) == 1:
        [only] = workers
        note = f"server VmRSS {only['rss_before_kib']} -> {only['rss_after_kib']} KiB{drivers}"
    else:
        note = ("VmRSS growth summed over the server's processes: " + ", ".join(
            f"{p['role']} {p['rss_before_kib']} -> {p['rss_after_kib']} KiB"
            + (f" ({p['sockets_after'] - p['sockets_before']} connections, "
               f"{(p['rss_after_kib'] - p['rss_before_kib']) / max(1, p['sockets_after'] - p['sockets_before']):.1f}"
               " KiB each)" if p["role"] == "worker" else "")
            for p in result["processes"]) + drivers)
    if len(result["warmed"]) < len(workers):
        note += f"; the warm-up reached {len(result['warmed'])} of {len(workers)} workers in {result['warm_rounds']} rounds"
    if result["broken"]:
        note += f"; {result['broken']} connections closed while held"
    rows = [Row(label, "KiB per connection", per_connection, target="<= 40 KiB", verdict=verdict(per_connection <= 40),
                note=note)]
    if len(workers) > 1:
        spread = [p["sockets_after"] - p["sockets_before"] for p in workers]
        rows.append(Row(label, "connections per process", " / ".join(str(n) for n in spread),
                        note=f"sockets each worker holds beyond before (/proc/<pid>/fd); the kernel hands each "
                             f"connection to one worker: the most loaded holds {max(spread) / max(1, sum(spread)):.0%}"))
    return rows
