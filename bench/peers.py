"""`--peers postgraphile`: the B1 lists served by PostGraphile beside the project and the
hand-written endpoint, for the same viewer, in alternating slices at the same connections.

Three lists: `myChats` (the 50-chat operator), `conversations(first: 50)` as that operator, and as
the supervisor (the hand-written endpoint has no supervisor rule: two servers there). Before any
load, each list is asked of the project and of PostGraphile and must name the same chats in the
same order (the bench stops otherwise). Each server's CPU per request is measured from /proc
(bench/cpu.py): its own process, and with the PostgreSQL backends that served it. Targets
(issue 18): requests/s >= 1.25 x PostGraphile's, CPU per request (server + PostgreSQL) at or
below PostGraphile's.
"""
from __future__ import annotations

import argparse
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import postgraphile, queries
from bench.cpu import CpuMeter
from bench.load import LoadResult, drive
from bench.servers import Server
from bench.targets import Targets
from resolvers.ids import parse_global_id

RATIO_TARGET = 1.25


@dataclass
class Contender:
    name: str
    url: str
    body: dict
    headers: dict[str, str]
    server: Server
    meter: CpuMeter
    slices: list[LoadResult] = field(default_factory=list)

    @property
    def result(self) -> LoadResult:
        return LoadResult.merged(self.slices)

    def cpu_ms(self, with_database: bool) -> float | None:
        completed = sum(part.completed for part in self.slices)
        if not completed:
            return None
        seconds = self.meter.server_seconds + (self.meter.database_seconds if with_database else 0.0)
        return round(1000 * seconds / completed, 3)


def _ours(answer: dict, root: str) -> list[list[dict]]:
    """The project's (or the hand-written endpoint's) chats per group, with integer ids."""
    data = answer["data"][root]
    groups = [[edge["node"] for edge in data["edges"]]] if root == "conversations" else \
        [data["waitingFirstResponse"], data["active"]]
    return [[{**chat, "id": (parse_global_id(chat["id"]) or ("", None))[1]} for chat in group] for group in groups]


def _theirs(answer: dict, root: str) -> list[list[dict]]:
    data = answer["data"]
    if root == "conversations":
        return [[edge["node"] for edge in data["conversations"]["edges"]]]
    return [data[group]["nodes"] for group in ("waitingFirstResponse", "active")]


def check_same_chats(ours: Contender, peer: Contender, root: str) -> str:
    """Ask both once; raise unless they list the same chats (ids, in order)."""
    with httpx.Client(timeout=30) as client:
        mine = client.post(ours.url, json=ours.body, headers=ours.headers).json()
        theirs = client.post(peer.url, json=peer.body, headers=peer.headers).json()
    return compare_answers(mine, theirs, root, peer.name)


def compare_answers(mine: dict, theirs: dict, root: str, peer_name: str) -> str:
    """Raise unless the project's answer and the peer's list the same chats (ids, in order); say
    whether every other field is equal too."""
    if mine.get("errors") or theirs.get("errors"):
        raise RuntimeError(f"{root}: an error in the comparison request: {mine.get('errors') or theirs.get('errors')}")
    left, right = _ours(mine, root), _theirs(theirs, root)
    ids = [[chat["id"] for chat in group] for group in left]
    if ids != [[chat["id"] for chat in group] for group in right]:
        raise RuntimeError(f"{root}: the project and {peer_name} list different chats for the same viewer:\n"
                           f"  project  {ids}\n  {peer_name} {[[c['id'] for c in g] for g in right]}")
    count = sum(len(group) for group in ids)
    if count == 0:
        raise RuntimeError(f"{root}: both list no chat (the viewer is not the one the bench expects)")
    return f"same {count} chats in the same order" + (", same fields" if left == right else "; other fields differ")


def measure(contenders: list[Contender], args: argparse.Namespace) -> None:
    """Rounds of one slice per contender, the order rotated each round (a load other processes put on
    the machine weighs on all alike); each slice's CPU counted for its server."""
    rounds = max(1, min(args.rounds, int(args.duration)))
    load = {"duration": args.duration / rounds, "concurrency": args.concurrency, "client": args.client,
            "warmup": 0.5}
    for round_ in range(rounds):
        shift = round_ % len(contenders)
        order = contenders[shift:] + contenders[:shift]
        if len(contenders) == 2 and round_ % 2:
            order = order[::-1]
        for contender in order:
            contender.meter.start()
            contender.slices.append(drive(contender.url, body=contender.body, headers=contender.headers, **load))
            contender.meter.stop()


def rows_for(benchmark: str, ours: Contender, peer: Contender, hand: Contender | None, same: str) -> list[Any]:
    from bench.run import Row, ratio, verdict

    mine, theirs = ours.result, peer.result
    throughput = ratio(mine.requests_per_second, theirs.requests_per_second)
    cpu, peer_cpu = ours.cpu_ms(False), peer.cpu_ms(False)
    total, peer_total = ours.cpu_ms(True), peer.cpu_ms(True)
    rows = [
        Row(benchmark, "requests/s", round(mine.requests_per_second, 1), round(theirs.requests_per_second, 1),
            throughput, same, target=f">= {RATIO_TARGET} x {peer.name}",
            verdict=verdict(throughput is not None and throughput >= RATIO_TARGET)),
        Row(benchmark, "CPU ms/request, server", cpu, peer_cpu, ratio(cpu, peer_cpu),
            "the server process alone (user + system, /proc)"),
        Row(benchmark, "CPU ms/request, server + PostgreSQL", total, peer_total, ratio(total, peer_total),
            "with the PostgreSQL backends of the bench database during the server's slices",
            target=f"<= {peer.name}", verdict=verdict(total is not None and peer_total is not None
                                                       and total <= peer_total)),
        Row(benchmark, "p50 ms", round(mine.p50_ms, 2), round(theirs.p50_ms, 2), ratio(mine.p50_ms, theirs.p50_ms)),
        Row(benchmark, "p99 ms", round(mine.p99_ms, 2), round(theirs.p99_ms, 2), ratio(mine.p99_ms, theirs.p99_ms)),
        Row(benchmark, "failed requests", f"{mine.failures}/{mine.requests}", f"{theirs.failures}/{theirs.requests}"),
    ]
    if hand is not None:  # the floor, measured in the same rounds
        floor = hand.result
        hand_cpu, hand_total = hand.cpu_ms(False), hand.cpu_ms(True)
        rows += [
            Row(benchmark, "requests/s, hand-written beside", round(mine.requests_per_second, 1),
                round(floor.requests_per_second, 1), ratio(mine.requests_per_second, floor.requests_per_second),
                "baseline column: the hand-written endpoint in the same rounds"),
            Row(benchmark, "CPU ms/request, server, hand-written beside", cpu, hand_cpu, ratio(cpu, hand_cpu)),
            Row(benchmark, "CPU ms/request, server + PostgreSQL, hand-written beside", total, hand_total,
                ratio(total, hand_total)),
            Row(benchmark, "p99 ms, hand-written beside", round(mine.p99_ms, 2), round(floor.p99_ms, 2),
                ratio(mine.p99_ms, floor.p99_ms)),
            Row(benchmark, "failed requests, hand-written beside", f"{mine.failures}/{mine.requests}",
                f"{floor.failures}/{floor.requests}"),
        ]
    if not (ours.meter.backends_seen and peer.meter.backends_seen):
        rows[2].note += " (NO PostgreSQL backend of the bench database in /proc: PostgreSQL runs elsewhere, " \
                        "its CPU is not counted)"
    for contender in (ours, peer, hand):
        if contender is not None and contender.result.first_failure:
            rows[0].note += f" {contender.name} first failure: {contender.result.first_failure[:160]}"
    return rows


def run_postgraphile(graphql: Server, baseline: Server, url: str, operators: dict[int, int],
                     tokens: dict[int, str], targets: Targets, args: argparse.Namespace, log_dir: Any) -> list[Any]:
    """Install the functions, start PostGraphile, check and measure the three lists; the schema is
    dropped and PostGraphile stopped afterwards."""
    import asyncio

    version = postgraphile.ensure_installed()
    database = url.rsplit("/", 1)[-1]
    secret = secrets.token_urlsafe(32)
    asyncio.run(postgraphile.install_schema(url))
    peer_server = postgraphile.start(url, secret, log_dir=log_dir)
    peer_name = f"PostGraphile {version}"
    rows: list[Any] = []
    try:
        operator = {"Authorization": f"Bearer {tokens[50]}"}
        supervisor = {"Authorization": f"Bearer {targets.supervisor_token}"}
        peer_operator = {"Authorization": f"Bearer {postgraphile.jwt(secret, operators[50])}"}
        peer_supervisor = {"Authorization": f"Bearer {postgraphile.jwt(secret, targets.supervisor_id)}"}
        lists = [
            ("B1 myChats (50 chats)", "myChats", {"query": queries.MY_CHATS}, operator,
             {"query": postgraphile.MY_CHATS}, peer_operator, "/my-chats"),
            ("B1b conversations(first: 50)", "conversations", {"query": queries.CONVERSATIONS}, operator,
             {"query": postgraphile.conversations(50)}, peer_operator, "/conversations?first=50"),
            ("B1b conversations(first: 50), supervisor", "conversations", {"query": queries.CONVERSATIONS},
             supervisor, {"query": postgraphile.conversations(50)}, peer_supervisor, None),
        ]
        for benchmark, root, body, headers, peer_body, peer_headers, hand_path in lists:
            ours = Contender("Open Channels", f"{graphql.base_url}/graphql", body, headers, graphql,
                             CpuMeter(graphql.process.pid, database))
            peer = Contender(peer_name, f"{peer_server.base_url}/graphql", peer_body, peer_headers, peer_server,
                             CpuMeter(peer_server.process.pid, database))
            hand = None if hand_path is None else Contender(
                "hand-written", f"{baseline.base_url}{hand_path}", body, headers, baseline,
                CpuMeter(baseline.process.pid, database))
            same = check_same_chats(ours, peer, root)
            print(f"[bench] {benchmark} vs {peer_name}: {same}; driving "
                  f"{', '.join(c.name for c in (hand, ours, peer) if c is not None)}, {args.duration:g}s each",
                  flush=True)
            measure([c for c in (hand, ours, peer) if c is not None], args)
            rows += rows_for(f"{benchmark} vs PostGraphile", ours, peer, hand, same)
    finally:
        peer_server.stop()
        asyncio.run(postgraphile.drop_schema(url))
    return rows
