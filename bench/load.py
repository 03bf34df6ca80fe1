"""The load driver: N concurrent keep-alive connections for D seconds, in a process of its own.

Run in a separate process from the servers (`drive()` starts `python -m bench.load` and
reads the result it writes to a file: bench/driver_results.py), so the client's CPU is never the
server's. Each connection sends the same request back to back. A response counts as a success
only when it is HTTP 200 with a JSON body that has `data` and no `errors` (`--status-only`: HTTP
200); anything else, or a transport error, is a failure. Requests that finish during the warm-up
are not counted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import httpx

from bench import driver_results


@dataclass
class LoadResult:
    requests: int
    failures: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    first_failure: str | None = None
    #: every response received, in the warm-up and after the measured window too (CPU per request divides by it)
    completed: int = 0
    #: every successful request's latency in ms (to merge slices of one measurement)
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @classmethod
    def merged(cls, slices: list["LoadResult"]) -> "LoadResult":
        """One result from slices measured at different moments (seconds and requests add up)."""
        latencies = sorted(x for part in slices for x in part.latencies_ms)
        seconds = sum(part.seconds for part in slices)
        return cls(
            requests=sum(part.requests for part in slices), failures=sum(part.failures for part in slices),
            seconds=seconds, requests_per_second=len(latencies) / seconds if seconds else 0.0,
            p50_ms=percentile(latencies, 0.50), p99_ms=percentile(latencies, 0.99),
            first_failure=next((part.first_failure for part in slices if part.first_failure), None),
            completed=sum(part.completed for part in slices), latencies_ms=latencies,
        )


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def _failure(response: "_Answer", graphql: bool) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if not graphql:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"not JSON: {response.text[:200]}"
    if not isinstance(body, dict) or body.get("errors") or body.get("data") is None:
        return f"errors: {response.text[:300]}"
    return None


class RawConnection:
    """A lean HTTP/1.1 keep-alive client: one request at a time, Content-Length framed.

    On 2 cores the driver's CPU is taken from the server, so it must cost far less per
    request than the server does: httpx spends about 1.1 ms of CPU per request here (as
    much as the hand-written baseline itself), this about 0.04 ms.
    """

    def __init__(self, url: str, method: str, body: bytes | None, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise ConnectionError("a response without Content-Length (not supported by the raw driver)")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class _Answer:
    """The little of a response that `_failure` reads, for both clients."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


async def run_load(url: str, body: bytes | None, headers: dict[str, str], *, duration: float,
                   concurrency: int, warmup: float, graphql: bool = True, client: str = "raw") -> LoadResult:
    latencies: list[float] = []
    failures = 0
    completed = 0
    first_failure: str | None = None
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def worker() -> None:
        """One keep-alive connection, requests back to back."""
        nonlocal failures, first_failure, completed
        if client == "raw":
            connection = RawConnection(url, "GET" if body is None else "POST", body, headers)
            send, close = connection.send, connection.close
        else:
            http = httpx.AsyncClient(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                                     timeout=30, headers=headers)

            async def send() -> tuple[int, bytes]:
                answer = await (http.get(url) if body is None else http.post(url, content=body))
                return answer.status_code, answer.content

            close = http.aclose
        try:
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                try:
                    problem = _failure(_Answer(*await send()), graphql)
                except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError) as error:
                    problem = f"{type(error).__name__}: {error}"
                    if client == "raw":
                        await close()  # a broken connection: the next request opens a new one
                done = time.perf_counter()
                completed += 1
                if done < measure_from or done > stop_at:
                    continue
                if problem is None:
                    latencies.append(done - sent)
                else:
                    failures += 1
                    first_failure = first_failure or problem
        finally:
            await close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    requests = len(latencies) + failures
    return LoadResult(
        requests=requests, failures=failures, seconds=duration, requests_per_second=len(latencies) / duration,
        p50_ms=percentile(latencies, 0.50) * 1000, p99_ms=percentile(latencies, 0.99) * 1000,
        first_failure=first_failure, completed=completed, latencies_ms=[round(x * 1000, 3) for x in latencies],
    )


def drive(url: str, *, body: dict | None, headers: dict[str, str], duration: float, concurrency: int,
          warmup: float = 1.0, graphql: bool = True, client: str = "raw") -> LoadResult:
    """Run the driver in a child process and return what it measured."""
    command = [sys.executable, "-m", "bench.load", "--url", url, "--duration", str(duration),
               "--concurrency", str(concurrency), "--warmup", str(warmup), "--headers", json.dumps(headers)]
    if body is not None:
        command += ["--body", json.dumps(body)]
    if not graphql:
        command.append("--status-only")
    command += ["--client", client]
    return LoadResult(**driver_results.run_driver(command, "load driver", timeout=duration + warmup + 120))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", help="JSON to POST (without it: GET)")
    parser.add_argument("--headers", default="{}", help="JSON object of request headers")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="raw: a lean keep-alive HTTP/1.1 client (default); httpx: httpx.AsyncClient")
    parser.add_argument("--status-only", action="store_true", help="HTTP 200 is success (no GraphQL body check)")
    driver_results.add_option(parser)
    args = parser.parse_args(argv)
    headers = {"content-type": "application/json", **json.loads(args.headers)}
    body = args.body.encode() if args.body is not None else None
    try:
        from uvloop import run
    except ImportError:  # the driver works on asyncio's own loop too, a little slower
        run = asyncio.run
    result = run(run_load(args.url, body, headers, duration=args.duration, concurrency=args.concurrency,
                      warmup=args.warmup, graphql=not args.status_only,
                      client=args.client))
    driver_results.hand_back(asdict(result), args.result_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
