"""B3 ingest: `sendMessage` throughput and latency by several operators, each in their own chat,
against a raw loop that does the same writes by hand.

Both sides run in a driver process of their own (`python -m bench.ingest`), one writer per
(operator, chat), each sending messages back to back for D seconds:

- `graphql`: `sendMessage` over keep-alive HTTP (bench/load.py's raw client) to the real
  server; a success is HTTP 200 with a message and no errors or userErrors;
- `raw`: asyncpg (a pool as large as the server's, DATABASE_POOL_SIZE's default, its connections
  released as the server's are, without asyncpg's reset statement) + redis.asyncio,
  per message the server's round trips: BEGIN, INSERT message, then the event-order advisory
  lock, INSERT event and COMMIT in one, the event's id reported with it (as the server takes it:
  services/events/events.py `REPORTED_SETTING`), then a Redis PUBLISH of the event after commit
  (to a channel of its own, which no server reads): the floor of what `sendMessage` must do.

Both write the seed's lines in turn (`TEXTS`), as B4w's searches expect.

Each slice also reads, at the edges of its measured window, the CPU of the side measured (the
server's process, or the raw loop's own driver process) and of PostgreSQL's backends connected
to the bench database: B3's "CPU ms per message" rows (another server writing to the same
database meanwhile would count in the PostgreSQL row).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from bench import driver_results
from bench.baseline import event_and_commit, event_message, prepare_session, reported_event_id
from bench.load import LoadResult, RawConnection, percentile
from bench.seed import CLIENT_LINES, OPERATOR_LINES
from infrastructure.settings import DEFAULT_POOL_SIZE, keep_session

SEND_MESSAGE = ("mutation($chat: ID!, $text: String!) { sendMessage(input: {chatId: $chat, text: $text}) "
                "{ message { id } userErrors { code message } } }")
#: what every writer (GraphQL and raw) writes, in turn: the seed's client and operator lines, so
#: B4's search terms are as frequent among the new messages as among the seeded ones (a search
#: reads the newest messages first: writes of text no search matches would push the matches
#: out of its first window, and B4 would then measure the database's history, not the search)
TEXTS = tuple(line for pair in itertools.zip_longest(CLIENT_LINES, OPERATOR_LINES) for line in pair if line)


def _graphql_failure(status: int, content: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {content[:200]!r}"
    try:
        body = json.loads(content)
        payload = body["data"]["sendMessage"]
    except (ValueError, KeyError, TypeError):
        return f"unexpected answer: {content[:300]!r}"
    if body.get("errors") or payload["userErrors"] or not payload["message"]:
        return f"errors: {content[:300]!r}"
    return None


async def _timed(workers: list[Callable[[], Awaitable[str | None]]], duration: float, warmup: float) -> LoadResult:
    latencies: list[float] = []
    failures = completed = 0
    first_failure: str | None = None
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration

    async def loop(send: Callable[[], Awaitable[str | None]]) -> None:
        nonlocal failures, first_failure, completed
        while (sent := time.perf_counter()) < stop_at:
            try:
                problem = await send()
            except Exception as error:
                problem = f"{type(error).__name__}: {error}"
            done = time.perf_counter()
            completed += 1
            if done < measure_from or done > stop_at:
                continue
            if problem is None:
                latencies.append((done - sent) * 1000)
            else:
                failures += 1
                first_failure = first_failure or problem

    await asyncio.gather(*(loop(worker) for worker in workers))
    latencies.sort()
    return LoadResult(requests=len(latencies) + failures, failures=failures, seconds=duration,
                      requests_per_second=len(latencies) / duration, p50_ms=percentile(latencies, 0.5),
                      p99_ms=percentile(latencies, 0.99), first_failure=first_failure, completed=completed,
                      latencies_ms=[round(x, 3) for x in latencies])


async def graphql_writers(url: str, writers: list[dict], *, endpoint: bool = False) -> tuple[list, Callable]:
    """`sendMessage` over HTTP; `endpoint`: to the hand-written endpoint (bench/baseline.py's
    /send-message, which takes `{chatId, text}` and answers the same JSON)."""
    def request_body(chat: str, text: str) -> bytes:
        if endpoint:
            return json.dumps({"chatId": chat, "text": text}).encode()
        return json.dumps({"query": SEND_MESSAGE, "variables": {"chat": chat, "text": text}}).encode()

    connections = []
    requests: dict[RawConnection, itertools.cycle] = {}
    for index, writer in enumerate(writers):
        headers = {"content-type": "application/json", "Authorization": f"Bearer {writer['token']}"}
        bodies = [request_body(writer["chat"], text) for text in TEXTS[index:] + TEXTS[:index]]  # writers start at different lines
        connection = RawConnection(url, "POST", bodies[0], headers)
        requests[connection] = itertools.cycle([RawConnection(url, "POST", body, headers).request for body in bodies])
        connections.append(connection)

    def sender(connection: RawConnection) -> Callable[[], Awaitable[str | None]]:
        async def send() -> str | None:
            connection.request = next(requests[connection])
            try:
                return _graphql_failure(*await connection.send())
            except (OSError, asyncio.IncompleteReadError, ValueError):
                await connection.close()
                raise
        return send

    async def close() -> None:
        for connection in connections:
            await connection.close()

    return [sender(c) for c in connections], close


async def raw_writers(database_url: str, redis_url: str, channel: str, writers: list[dict]) -> tuple[list, Callable]:
    import asyncpg
    import redis.asyncio as redis

    # connections released as the server releases them (`keep_session`: no reset statement, which
    # would be a fifth round trip per message that the server does not make)
    pool = await asyncpg.create_pool(database_url, min_size=DEFAULT_POOL_SIZE, max_size=DEFAULT_POOL_SIZE,
                                     reset=keep_session, init=prepare_session)
    publisher = redis.Redis.from_url(redis_url)
    texts = itertools.cycle(TEXTS)

    def sender(writer: dict) -> Callable[[], Awaitable[str | None]]:
        chat_id, operator_id, channel_id = int(writer["chat_id"]), int(writer["operator_id"]), int(writer["channel_id"])

        async def send() -> str | None:
            now = datetime.now(timezone.utc)
            # the server's round trips (services/common/transactions.py, UnitOfWork.flush_and_commit):
            # BEGIN; the message; the event-order lock, the event and COMMIT in one (the statement the
            # server keeps prepared), the event's id reported with it
            async with pool.acquire() as db:
                await db.execute("BEGIN")
                try:
                    message_id = await db.fetchval(
                        "INSERT INTO message (chat_id, author_kind, author_id, text, silent, created_at, deleted) "
                        "VALUES ($1, 'OPERATOR', $2, $3, false, $4, false) RETURNING id",
                        chat_id, operator_id, next(texts), now)
                    script, tag = event_and_commit(chat_id, channel_id, message_id, operator_id, now)
                    await db.execute(script)
                except BaseException:
                    await db.execute("ROLLBACK")
                    raise
                event_id = await reported_event_id(db, tag)
            await publisher.publish(channel, event_message(event_id, chat_id, channel_id, message_id, operator_id, now))
            return None
        return send

    async def close() -> None:
        await pool.close()
        await publisher.aclose()

    return [sender(w) for w in writers], close


async def _cpu_at_edges(pid: int, database: str, warmup: float, duration: float) -> dict[str, float]:
    """CPU seconds over the measured window (after the warm-up): of process `pid` (the server, or
    this driver for the raw loop), of PostgreSQL's backends connected to `database`, and of the
    whole machine (every process on it: busy and idle seconds of all its cores)."""
    from bench.cpu import backend_seconds, machine_seconds, process_seconds

    await asyncio.sleep(warmup)
    process, backends, (busy, idle) = process_seconds(pid), backend_seconds(database), machine_seconds()
    await asyncio.sleep(duration)
    after, (busy_after, idle_after) = backend_seconds(database), machine_seconds()
    return {"process": process_seconds(pid) - process,
            "database": sum(seconds - backends.get(b, 0.0) for b, seconds in after.items()),
            "machine": busy_after - busy, "machine_idle": idle_after - idle}


async def run(args: argparse.Namespace) -> tuple[LoadResult, dict[str, float]]:
    writers = json.loads(args.writers)
    if args.mode in ("graphql", "endpoint"):
        senders, close = await graphql_writers(args.url, writers, endpoint=args.mode == "endpoint")
    else:
        senders, close = await raw_writers(args.database_url, args.redis_url, args.redis_channel, writers)
    pid = os.getpid() if args.mode == "raw" else args.server_pid
    database = args.database_url.rsplit("/", 1)[-1].split("?")[0]
    try:
        return await asyncio.gather(_timed(senders, args.duration, args.warmup),
                                    _cpu_at_edges(pid, database, args.warmup, args.duration))
    finally:
        await close()


def drive_ingest(mode: str, *, writers: list[dict], duration: float, warmup: float = 0.5, url: str = "",
                 database_url: str = "", redis_url: str = "", redis_channel: str = "",
                 server_pid: int = 0) -> tuple[LoadResult, dict[str, float]]:
    """One slice; with the CPU seconds spent in its measured window by the side measured (the
    server's process `server_pid`, or the raw loop's driver) and by PostgreSQL's backends."""
    command = [sys.executable, "-m", "bench.ingest", mode, "--writers", json.dumps(writers), "--duration",
               str(duration), "--warmup", str(warmup), "--url", url, "--database-url", database_url,
               "--redis-url", redis_url, "--redis-channel", redis_channel, "--server-pid", str(server_pid)]
    answer = driver_results.run_driver(command, f"bench.ingest {mode}", timeout=duration + warmup + 120)
    cpu = answer.pop("cpu")
    return LoadResult(**answer), cpu


def _cpu_ms_per_message(slices: list[tuple[LoadResult, dict[str, float]]], part: str) -> float | None:
    """CPU ms per message answered in the measured windows (successes and failures alike)."""
    messages = sum(result.requests for result, _ in slices)
    return round(sum(cpu[part] for _, cpu in slices) * 1000 / messages, 3) if messages else None


def _idle_share(slices: list[tuple[LoadResult, dict[str, float]]]) -> float | None:
    """The share of the machine's core time that was idle over the measured windows."""
    busy, idle = sum(cpu["machine"] for _, cpu in slices), sum(cpu["machine_idle"] for _, cpu in slices)
    return idle / (busy + idle) if busy + idle > 0 else None


def _machine_note(ours: list[tuple[LoadResult, dict[str, float]]],
                  theirs: list[tuple[LoadResult, dict[str, float]]], name: str) -> str:
    """What the whole machine's row means, with the idle share of each side's windows."""
    shares = [_idle_share(side) for side in (ours, theirs)]
    idle = ", ".join(f"{label} {share:.0%}" for label, share in zip(("the server's", f"{name}'s"), shares)
                     if share is not None)
    return ("every process on the machine over the same windows (the server's side includes the load's HTTP "
            f"driver, PostgreSQL and Redis); cores idle in the windows: {idle}. A side whose cores are never "
            "idle is bounded by the machine's CPU per message: its requests/s ratio measures the machine's cores too")


def _closed_loop_note(ours: LoadResult, theirs: LoadResult) -> str:
    """The p99 ratio as the p50 ratio times the ratio of the tails' shapes (p99 / p50). Each writer
    sends its next message when the last is answered (a closed loop), so the median follows
    1 / throughput: a side that answers fewer messages per second has a proportionally longer p99
    even when its tail is shaped as the other's."""
    if not (ours.requests_per_second and ours.p50_ms and theirs.p50_ms):
        return ""
    median = ours.p50_ms / theirs.p50_ms
    shape = (ours.p99_ms / ours.p50_ms) / (theirs.p99_ms / theirs.p50_ms)
    throughput = theirs.requests_per_second / ours.requests_per_second
    return (f"p99 ratio = p50 ratio {median:.2f} x tail shape ratio {shape:.2f} (p99 / p50 against the endpoint's); "
            f"in this closed loop (each writer waits for its answer) the p50 ratio follows the endpoint's "
            f"requests/s over ours, {throughput:.2f}")


def _by_round_note(ours: list[tuple[LoadResult, dict[str, float]]],
                   hand: list[tuple[LoadResult, dict[str, float]]]) -> str:
    """Each round's p99 against the endpoint's (their slices ran next to each other): how far one
    round's verdict may stray from the run's."""
    ratios = [f"{a.p99_ms / b.p99_ms:.2f}" for (a, _), (b, _) in zip(ours, hand) if b.p99_ms]
    return f"by round (the two sides' slices side by side): {', '.join(ratios)} x" if ratios else ""


def _by_slice(slices: list[tuple[LoadResult, dict[str, float]]], part: str) -> str:
    """CPU ms per message of each slice, in the order they ran."""
    return ", ".join(f"{_cpu_ms_per_message([one], part):.3f}" for one in slices if one[0].requests)


def run_b3(graphql: Any, url: str, redis_url: str, targets: Any, args: argparse.Namespace,
           endpoint: Any = None) -> list:
    """Alternating slices (raw, endpoint, GraphQL, GraphQL, endpoint, raw, ...) as B1 does: the
    GraphQL server against the raw loop (the floor without HTTP), and, when `endpoint` is given
    (bench/baseline.py's server), against the hand-written endpoint, whose p99 issue #18 item 2
    names."""
    import asyncpg

    from bench import runtime
    from bench.run import TAIL_TARGET, Row, load_rows, ratio, tail_rows, verdict

    async def channels() -> dict[int, int]:
        db = await asyncpg.connect(url, timeout=10)
        try:
            rows = await db.fetch("SELECT id, open_channel_id FROM chat WHERE id = ANY($1::int[])",
                                  [chat for chat, _ in targets.ingest_chat_rows])
        finally:
            await db.close()
        return {r["id"]: r["open_channel_id"] for r in rows}

    channel_of = asyncio.run(channels())
    graphql_writers_ = [{"token": token, "chat": chat} for token, chat in targets.ingest]
    raw_writers_ = [{"chat_id": chat, "operator_id": operator, "channel_id": channel_of[chat]}
                    for chat, operator in targets.ingest_chat_rows]
    print(f"[bench] B3 ingest: {len(graphql_writers_)} operators sending messages, {args.duration:g}s each side",
          flush=True)
    rounds = max(1, min(args.rounds, int(args.duration)))
    ours: list[tuple[LoadResult, dict[str, float]]] = []
    base: list[tuple[LoadResult, dict[str, float]]] = []
    hand: list[tuple[LoadResult, dict[str, float]]] = []
    servers = {"graphql": (graphql, "/graphql"), "endpoint": (endpoint, "/send-message")}
    before = runtime.read(graphql.base_url)
    for round_ in range(rounds):
        sides = [("raw", base)] + ([("endpoint", hand)] if endpoint is not None else []) + [("graphql", ours)]
        for mode, slices in (sides if round_ % 2 == 0 else sides[::-1]):
            server, path = servers.get(mode, (graphql, "/graphql"))
            slices.append(drive_ingest(
                mode, writers=raw_writers_ if mode == "raw" else graphql_writers_,
                duration=args.duration / rounds, url=f"{server.base_url}{path}", database_url=url,
                redis_url=redis_url, redis_channel=f"openchannels-bench-raw:{os.getpid()}",
                server_pid=server.process.pid))
    benchmark = f"B3 sendMessage ({len(graphql_writers_)} operators)"
    merged = LoadResult.merged([result for result, _ in ours])
    # issue #18 item 2 holds B3's p99 to the hand-written endpoint's (the row "vs hand-written
    # endpoint" below); the raw loop has no HTTP at all: its p99 is shown, not held to the target
    raw = LoadResult.merged([result for result, _ in base])
    # the baselines' results, by name, for the tail row's note (tail_rows)
    shapes = {"raw loop": raw}
    rows = load_rows(benchmark, merged, raw,
                     "baseline: asyncpg + redis.asyncio raw loop", tail_target=endpoint is None)
    if args.workers == 1:  # the server's process is the one measured (with more, its workers are its children)
        rows += [Row(benchmark, f"CPU ms per message, {label}", _cpu_ms_per_message(ours, part),
                     _cpu_ms_per_message(base, part),
                     ratio(_cpu_ms_per_message(ours, part), _cpu_ms_per_message(base, part)), note)
                 for label, part, note in (
                     ("Python", "process", "the server's process against the raw loop's driver process, "
                      "over the measured windows"),
                     ("PostgreSQL", "database", "the bench database's backends over the same windows"),
                     ("whole machine", "machine", _machine_note(ours, base, "the raw loop")))]
    if endpoint is not None:
        against = f"{benchmark} vs hand-written endpoint"
        written = shapes["hand-written endpoint"] = LoadResult.merged([result for result, _ in hand])
        tail = ratio(merged.p99_ms, written.p99_ms)
        rows += [
            Row(against, "requests/s", round(merged.requests_per_second, 1), round(written.requests_per_second, 1),
                ratio(merged.requests_per_second, written.requests_per_second),
                "baseline: Starlette + asyncpg + redis.asyncio, POST /send-message (bench/baseline.py): "
                "the server's statements for a message, in its round trips, behind HTTP"),
            Row(against, "p50 ms", round(merged.p50_ms, 2), round(written.p50_ms, 2), ratio(merged.p50_ms, written.p50_ms)),
            Row(against, "p99 ms", round(merged.p99_ms, 2), round(written.p99_ms, 2), tail,
                "; ".join(note for note in (_by_round_note(ours, hand), _closed_loop_note(merged, written)) if note),
                target=f"<= {TAIL_TARGET} x baseline", verdict=verdict(tail is not None and tail <= TAIL_TARGET)),
            Row(against, "failed requests", f"{merged.failures}/{merged.requests}",
                f"{written.failures}/{written.requests}",
                note=f"endpoint first failure: {written.first_failure[:160]}" if written.first_failure else ""),
        ]
        if args.workers == 1:
            rows += [Row(against, f"CPU ms per message, {label}", _cpu_ms_per_message(ours, part),
                         _cpu_ms_per_message(hand, part),
                         ratio(_cpu_ms_per_message(ours, part), _cpu_ms_per_message(hand, part)), note)
                     for label, part, note in (
                         ("Python", "process", "the server's process against the endpoint's, over the measured "
                          f"windows; by slice, the server's {_by_slice(ours, 'process')}, the endpoint's "
                          f"{_by_slice(hand, 'process')}"),
                         ("PostgreSQL", "database", "the bench database's backends over the same windows: the "
                          "endpoint makes the server's statements, so PostgreSQL's work should match"),
                         ("whole machine", "machine", _machine_note(ours, hand, "the endpoint")))]
    return rows + tail_rows(benchmark, merged, runtime.summary(before, runtime.read(graphql.base_url),
                                                               merged.requests), shapes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("graphql", "endpoint", "raw"))
    parser.add_argument("--writers", required=True, help="JSON list: {token, chat} (graphql) or "
                        "{chat_id, operator_id, channel_id} (raw)")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--url", default="")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--redis-channel", default="openchannels-bench-raw")
    parser.add_argument("--server-pid", type=int, default=0,
                        help="graphql, endpoint: the server process whose CPU is read")
    driver_results.add_option(parser)
    args = parser.parse_args(argv)
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    from dataclasses import asdict

    result, cpu = run_loop(run(args))
    driver_results.hand_back({**asdict(result), "cpu": cpu}, args.result_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
