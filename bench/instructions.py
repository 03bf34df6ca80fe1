"""`python -m bench.instructions`: the instructions a request costs in Python, counted by callgrind,
the server's against the hand-written baseline's.

Why: on a shared machine the CPU seconds of a request move with the hour, by a quarter and more
within a session (bench/HISTORY.md, the twenty-second pass), more than most optimisations move them, so
paired slices need many rounds to tell a 3 % change from noise. The instructions valgrind's
callgrind counts do not move with the machine: two runs of the same commit read within about 1 %.

What: one process under `valgrind --tool=callgrind` calls the server's ASGI app
(openchannels.app:create_app, with the bench's server environment) and the hand-written baseline
(bench.baseline:create_app) in-process, on the bench database (seeded as `python -m bench` seeds
it). For each workload and side: a warm-up, callgrind's counters zeroed,
N requests, the counters dumped, by callgrind's client requests (`CALLGRIND_ZERO_STATS`,
`CALLGRIND_DUMP_STATS` from valgrind's callgrind.h, in a two-function library compiled with gcc
for the run and called through ctypes: a few hundred instructions, where `callgrind_control`'s
process took tens of millions, unevenly). The workloads are those of B3 (`sendMessage` by 8
operators, each in their own chat, all at once: `--writers`), B1 (`myChats`, 50 chats) and B1b
(`conversations(first: 50)`), each sent as the bench's load sends it.

What it leaves out: the kernel (system calls, loopback TCP), PostgreSQL, Redis and uvicorn's HTTP
parsing, which the load benchmarks measure; it counts instructions, not their cost in cycles.
Both apps share the process, so the baseline runs with the garbage collection the server's
lifespan tunes.
"""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import queries
from bench.ingest import SEND_MESSAGE

#: (workload, what the bench calls it)
WORKLOADS = {"sendMessage": "B3 sendMessage", "myChats": "B1 myChats (50 chats)",
             "conversations": "B1b conversations(first: 50)"}
SIDES = ("ours", "baseline")


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    token: str


def requests_of(workload: str, side: str, spec: dict[str, Any], index: int) -> list[Request]:
    """The requests of one round of `workload` (a message by each writer, or one list request)."""
    if workload == "sendMessage":
        return [Request("/graphql" if side == "ours" else "/send-message",
                        json.dumps({"query": SEND_MESSAGE, "variables": {"chat": chat, "text": f"counted {index}"}}
                                   if side == "ours" else {"chatId": chat, "text": f"counted {index}"}).encode(),
                        token) for token, chat in spec["writers"]]
    query = queries.MY_CHATS if workload == "myChats" else queries.CONVERSATIONS
    path = "/graphql" if side == "ours" else ("/my-chats" if workload == "myChats" else "/conversations")
    return [Request(path, json.dumps({"query": query}).encode(), spec["list_token"])]


async def call(app: Any, request: Request) -> bytes:
    """`request` as a POST through the ASGI app, its body; a status other than 200 or GraphQL errors raise."""
    path, _, query = request.path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                         (b"authorization", f"Bearer {request.token}".encode()),
                         (b"content-length", str(len(request.body)).encode())]}
    received = False
    messages: list[dict] = []

    async def receive() -> dict:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        return {}

    async def send(message: dict) -> None:
        messages.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    if messages[0]["status"] != 200 or b'"errors"' in body:
        raise RuntimeError(f"{request.path}: {messages[0]['status']} {body[:300]!r}")
    return body


async def rounds(app: Any, workload: str, side: str, spec: dict[str, Any], count: int, start: int) -> None:
    """`count` requests of `workload`: the writers' messages all at once, or one list request after another."""
    done = 0
    while done < count:
        batch = requests_of(workload, side, spec, start + done)[:count - done]
        await asyncio.gather(*(call(app, request) for request in batch))
        done += len(batch)


#: the window's edges: callgrind's client requests, compiled into a library for the run (`_compile`)
_CLIENT_REQUESTS = """#include <valgrind/callgrind.h>
void counted_window_begins(void) { CALLGRIND_ZERO_STATS; }
void counted_window_ends(void) { CALLGRIND_DUMP_STATS; }
"""


def _compile(folder: Path) -> Path:
    source, library = folder / "window.c", folder / "libwindow.so"
    source.write_text(_CLIENT_REQUESTS)
    done = subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"could not compile callgrind's client requests (gcc and valgrind's headers, "
                         f"/usr/include/valgrind/callgrind.h, are needed):\n{done.stderr}")
    return library


async def child(spec: dict[str, Any]) -> None:
    """Under callgrind: both apps, each workload's windows in the order of `spec["windows"]`."""
    from bench.baseline import create_app as baseline_app
    from openchannels.app import create_app

    window = ctypes.CDLL(spec["library"])
    apps: dict[str, Any] = {"ours": create_app(), "baseline": baseline_app()}
    async with apps["ours"].router.lifespan_context(apps["ours"]), \
            apps["baseline"].router.lifespan_context(apps["baseline"]):
        for workload, side in spec["windows"]:
            await rounds(apps[side], workload, side, spec, spec["warmup"], 0)
            await asyncio.sleep(0.05)  # what the warm-up left in the background settles outside the window
            window.counted_window_begins()
            await rounds(apps[side], workload, side, spec, spec["requests"], spec["warmup"])
            window.counted_window_ends()


def _totals(path: Path) -> int:
    match = re.search(r"^totals:\s+(\d+)", path.read_text(errors="replace"), re.M)
    if match is None:
        raise RuntimeError(f"{path}: no totals line")
    return int(match.group(1))


async def _spec(args: argparse.Namespace) -> dict[str, Any]:
    from bench.run import prepare

    url, tokens, _, targets = await prepare(args.scale, False, False, args.writers, args.database)
    return {"url": url, "writers": targets.ingest, "list_token": tokens[50], "requests": args.requests,
            "warmup": args.warmup}


def count(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Instructions per request: {workload: {side: instructions}}, from one run under callgrind."""
    from bench.run import REDIS_URL, SERVER_ENVIRONMENT

    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian's package valgrind)")
    spec = asyncio.run(_spec(args))
    workloads = [w for w in args.only.split(",") if w]
    spec["windows"] = [(w, side) for w in workloads for side in SIDES]
    with tempfile.TemporaryDirectory(prefix="openchannels-instructions-") as folder:
        spec["library"] = str(_compile(Path(folder)))
        spec_path = Path(folder) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        environment = {**os.environ, "DATABASE_URL": spec["url"], "REDIS_URL": REDIS_URL, "LOG_LEVEL": "warning",
                       "REDIS_CHANNEL": f"openchannels-bench-instructions:{os.getpid()}", **SERVER_ENVIRONMENT}
        print(f"[instructions] {len(workloads)} workload(s), {args.requests} requests each side, under callgrind "
              "(a few minutes)", flush=True)
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/cg.%p",
                               sys.executable, "-m", "bench.instructions", "--child", str(spec_path)],
                              env=environment, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
        if done.returncode != 0:
            raise RuntimeError(f"bench.instructions failed ({done.returncode}):\n{done.stderr[-3000:]}")
        dumps = sorted(Path(folder).glob("cg.*.*"), key=lambda p: int(p.suffix[1:]))
        if len(dumps) != len(spec["windows"]):
            raise RuntimeError(f"{len(dumps)} dumps for {len(spec['windows'])} windows")
        totals = [_totals(p) for p in dumps]
    found: dict[str, dict[str, float]] = {}
    for (workload, side), total in zip(spec["windows"], totals):
        found.setdefault(workload, {})[side] = total / args.requests
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests counted per workload and side")
    parser.add_argument("--warmup", type=int, default=96, help="requests before each counted window")
    parser.add_argument("--only", default=",".join(WORKLOADS), help=f"comma-separated, of {', '.join(WORKLOADS)}")
    parser.add_argument("--writers", type=int, default=8, help="sendMessage's operators, each in their own chat")
    parser.add_argument("--scale", type=float, default=1.0, help="the bench database's scale (as python -m bench)")
    parser.add_argument("--database", default="", help="the bench database's name (default openchannels_bench_<scale>)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(Path(args.child).read_text())
        import uvloop  # as uvicorn runs the server

        uvloop.run(child(spec))
        return 0
    unknown = set(args.only.split(",")) - set(WORKLOADS) - {""}
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    found = count(args)
    print(f"{'workload':<34} {'ours':>12} {'baseline':>12} {'ratio':>6}  (instructions per request, Python side)")
    for workload, sides in found.items():
        print(f"{WORKLOADS[workload]:<34} {sides['ours']:>12,.0f} {sides['baseline']:>12,.0f} "
              f"{sides['ours'] / sides['baseline']:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
