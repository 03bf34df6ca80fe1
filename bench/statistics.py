"""B5 statistics: `statistics` for the last 30 days over all channels, as the supervisor, with
every breakdown (totals, by operator, by open channel, by day); p50/p99, one request at a
time (`--latency-concurrency`). B6: the statements of one request for a 10-day and a
100-day window (10 and 100 `byDay` rows: the "page size" of this query).
"""
from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from typing import Any

STATS = ("conversations queued active closed spam missed averageFirstResponseSeconds "
         "medianFirstResponseSeconds averageResolutionSeconds")


def statistics_document(days: int) -> str:
    to = datetime.now(timezone.utc).replace(microsecond=0)
    since = to - timedelta(days=days)
    return (f'{{ statistics(filter: {{from: "{since.isoformat()}", to: "{to.isoformat()}"}}) {{ '
            f"totals {{ {STATS} }} byOperator {{ operator {{ id name }} stats {{ {STATS} }} }} "
            f"byOpenChannel {{ openChannel {{ id name }} stats {{ {STATS} }} }} byDay {{ day stats {{ {STATS} }} }} }} }}")


async def statement_rows(execute: Any, token: str) -> list:
    from bench.run import Row, verdict

    counts = {}
    for days in (10, 100):
        data, statements = await execute(statistics_document(days), token)
        if not data["statistics"]["byDay"]:
            raise RuntimeError(f"statistics over {days} days found no conversation: reseed (--reseed)")
        counts[days] = len(statements)
    rows = [Row("B6 statistics", f"SQL statements, {days} days", counts[days]) for days in (10, 100)]
    return rows + [Row("B6 statistics", "constant in page size", "yes" if counts[10] == counts[100] else "NO",
                       target="constant", verdict=verdict(counts[10] == counts[100]))]


def run_b5(graphql: Any, token: str, args: argparse.Namespace) -> list:
    from bench.load import drive
    from bench.run import Row, verdict

    print(f"[bench] B5 statistics: 30 days, all channels, {args.duration:g}s", flush=True)
    result = drive(f"{graphql.base_url}/graphql", body={"query": statistics_document(30)},
                   headers={"Authorization": f"Bearer {token}"}, duration=args.duration,
                   concurrency=args.latency_concurrency, client=args.client, warmup=0.5)
    p99 = round(result.p99_ms, 2)
    return [
        Row("B5 statistics (30 days)", "p50 ms", round(result.p50_ms, 2)),
        Row("B5 statistics (30 days)", "p99 ms", p99, target="<= 300 ms", verdict=verdict(p99 <= 300),
            note=f"as the supervisor; {args.latency_concurrency} request(s) at a time"),
        Row("B5 statistics (30 days)", "failed requests", f"{result.failures}/{result.requests}",
            note=(result.first_failure or "")[:160]),
    ]
