"""B4w search under writes: B4's `searchMessages` latency while B3's writers send messages to the
same server.

B3's GraphQL writers (`sendMessage` by `--writers` operators, each in one of their active chats,
back to back over keep-alive HTTP: bench/ingest.py) run in a driver process of their own
(`python -m bench.search_writes`) that writes until told to stop: after its warm-up it prints
`ready`, and it stops when its standard input closes. Between the two, the bench measures B4's
searches (bench/search.py, the same terms, `first: 20` as the supervisor, `--latency-concurrency`
at a time) in their own driver processes; the writers' figures are those of the same window.
Every message written is a new row of `message` whose full-text vectors PostgreSQL computes and
adds to the GIN indexes the searches read (services/contact_center/search_index.py).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any, Awaitable, Callable

from bench import driver_results
from bench.load import LoadResult, percentile

REPO_ROOT = Path(__file__).resolve().parents[1]
#: issue 18, item 5: B4's target, held while the writers write
P99_TARGET_MS = 50.0


# ---------------------------------------------------------------------------- the writers' process


async def write_until_stopped(senders: list[Callable[[], Awaitable[str | None]]], warmup: float,
                              stop: Callable[[], Awaitable[Any]], ready: Callable[[], None]) -> LoadResult:
    """Each sender back to back; requests that end between the warm-up and `stop()`'s return are
    counted (`ready()` is called when that window opens)."""
    latencies: list[float] = []
    failures = 0
    first_failure: str | None = None
    window: dict[str, float] = {}

    async def loop(send: Callable[[], Awaitable[str | None]]) -> None:
        nonlocal failures, first_failure
        while "end" not in window:
            sent = time.perf_counter()
            try:
                problem = await send()
            except Exception as error:
                problem = f"{type(error).__name__}: {error}"
            done = time.perf_counter()
            if "start" not in window or done < window["start"] or done > window.get("end", done):
                continue
            if problem is None:
                latencies.append((done - sent) * 1000)
            else:
                failures += 1
                first_failure = first_failure or problem

    async def control() -> None:
        await asyncio.sleep(warmup)
        window["start"] = time.perf_counter()
        ready()
        await stop()
        window["end"] = time.perf_counter()

    await asyncio.gather(control(), *(loop(send) for send in senders))
    seconds = window["end"] - window["start"]
    latencies.sort()
    return LoadResult(requests=len(latencies) + failures, failures=failures, seconds=round(seconds, 3),
                      requests_per_second=len(latencies) / seconds if seconds else 0.0,
                      p50_ms=percentile(latencies, 0.5), p99_ms=percentile(latencies, 0.99),
                      first_failure=first_failure, latencies_ms=[round(x, 3) for x in latencies])


async def _writers(args: argparse.Namespace) -> LoadResult:
    from bench.ingest import graphql_writers

    senders, close = await graphql_writers(args.url, json.loads(args.writers))
    loop = asyncio.get_running_loop()
    try:
        return await write_until_stopped(
            senders, args.warmup, stop=lambda: loop.run_in_executor(None, sys.stdin.read),
            ready=lambda: print("ready", flush=True))
    finally:
        await close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_writes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--writers", required=True, help="JSON list of {token, chat}")
    parser.add_argument("--warmup", type=float, default=0.5)
    driver_results.add_option(parser)
    args = parser.parse_args(argv)
    try:
        from uvloop import run
    except ImportError:
        run = asyncio.run
    driver_results.hand_back(asdict(run(_writers(args))), args.result_file)
    return 0


# ---------------------------------------------------------------------------- in the bench process


class Writers:
    """The writers' process: started, `ready` awaited on entry; stopped on exit, and its result read
    from the file it wrote (bench/driver_results.py)."""

    def __init__(self, url: str, writers: list[dict], warmup: float = 0.5) -> None:
        self.command = [sys.executable, "-m", "bench.search_writes", "--url", url, "--writers", json.dumps(writers),
                        "--warmup", str(warmup)]
        self.result: LoadResult | None = None

    def __enter__(self) -> "Writers":
        self._cleanup = ExitStack()  # the result file's folder, removed on exit
        self.result_path = self._cleanup.enter_context(driver_results.result_file())
        self.process = subprocess.Popen([*self.command, driver_results.OPTION, str(self.result_path)], cwd=REPO_ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self._stop()
            self._cleanup.close()
            raise RuntimeError(f"bench.search_writes did not start ({self.process.returncode}): {line}"
                               f"{self.stderr[-2000:]}")
        return self

    def _stop(self) -> None:
        try:  # closes the writers' stdin: they stop
            _, self.stderr = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, self.stderr = self.process.communicate()

    def __exit__(self, *failure: object) -> None:
        with self._cleanup:
            self._stop()
            if failure[0] is not None:
                return
            if self.process.returncode != 0:
                raise RuntimeError(f"bench.search_writes failed ({self.process.returncode}):\n{self.stderr[-2000:]}")
            self.result = LoadResult(**driver_results.read_result(self.result_path, "bench.search_writes", self.stderr))


def search_writes_rows(searches: LoadResult, writes: LoadResult, writers: int, latency_concurrency: int) -> list:
    """The searches' p50/p99 (the target) and failures, then the writers' figures of the same window."""
    from bench.run import Row, verdict

    search, write = f"B4w searchMessages under writes ({writers} writers)", f"B4w sendMessage writers ({writers})"
    p99 = round(searches.p99_ms, 2)
    return [
        Row(search, "p50 ms", round(searches.p50_ms, 2)),
        Row(search, "p99 ms", p99, target=f"<= {P99_TARGET_MS:g} ms", verdict=verdict(p99 <= P99_TARGET_MS),
            note=f"first: 20, as the supervisor; {latency_concurrency} request(s) at a time, while "
            f"{writers} operators send messages back to back"),
        Row(search, "failed requests", f"{searches.failures}/{searches.requests}",
            note=f"first failure: {searches.first_failure[:160]}" if searches.first_failure else ""),
        Row(write, "requests/s", round(writes.requests_per_second, 1),
            note=f"sendMessage over {writes.seconds:g}s, the searches' window"),
        Row(write, "p50 ms", round(writes.p50_ms, 2)),
        Row(write, "p99 ms", round(writes.p99_ms, 2)),
        Row(write, "failed requests", f"{writes.failures}/{writes.requests}",
            note=f"first failure: {writes.first_failure[:160]}" if writes.first_failure else ""),
    ]


def run_b4w(graphql: Any, targets: Any, args: argparse.Namespace) -> list:
    from bench.search import first_search, measure_searches

    writers = [{"token": token, "chat": chat} for token, chat in targets.ingest]
    first_search(graphql, {"Authorization": f"Bearer {targets.supervisor_token}"})  # before the writes
    print(f"[bench] B4w searchMessages under writes: {len(writers)} operators sending messages", flush=True)
    with Writers(f"{graphql.base_url}/graphql", writers) as writing:
        rows, searches = measure_searches(graphql, targets.supervisor_token, args,
                                          label="B4w searchMessages under writes")
    assert writing.result is not None
    return rows + search_writes_rows(searches, writing.result, len(writers), args.latency_concurrency)


if __name__ == "__main__":
    raise SystemExit(main())
