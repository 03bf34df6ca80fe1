"""B4 search: `searchMessages` over every seeded message, as the supervisor (all chats), for a
few terms an operator would type; p50/p99 per term and over all, one request at a time
(`--latency-concurrency`) so the figure is the server's latency, not a queue. B6: the
statements of one search at `first: 10` and `first: 100`.

The first search may build the full-text index (services/contact_center/search_index.py): one request is
sent, untimed, before the measurement.
"""
from __future__ import annotations

import argparse
from typing import Any

TERMS = ("refund", "parcel", "invoice", "discount code", "order")
SEARCH = ("query($q: String!, $first: Int!) { searchMessages(query: $q, first: $first) "
          "{ edges { node { id text createdAt chat { id title } } } pageInfo { hasNextPage } } }")


def search_document(term: str, first: int) -> str:
    """The same query with its arguments inlined (bench/statements.py executes documents without variables)."""
    return SEARCH.replace("query($q: String!, $first: Int!) ", "").replace(
        "$q", f'"{term}"').replace("$first", str(first))


async def statement_rows(execute: Any, token: str) -> list:
    from bench.run import Row, verdict

    await execute(search_document("order", 10), token)  # the first search may set the index up: not counted
    counts = {}
    for size in (10, 100):
        data, statements = await execute(search_document("order", size), token)
        if len(data["searchMessages"]["edges"]) != size:
            raise RuntimeError(f"searchMessages(first: {size}) found {len(data['searchMessages']['edges'])} "
                               "messages for 'order': reseed (--reseed)")
        counts[size] = len(statements)
    rows = [Row("B6 searchMessages", f"SQL statements, first: {size}", counts[size]) for size in (10, 100)]
    return rows + [Row("B6 searchMessages", "constant in page size", "yes" if counts[10] == counts[100] else "NO",
                       target="constant", verdict=verdict(counts[10] == counts[100]))]


def first_search(graphql: Any, headers: dict[str, str]) -> None:
    """One search, untimed: the first may build the search index."""
    import httpx

    with httpx.Client(timeout=600, headers=headers) as client:
        answer = client.post(f"{graphql.base_url}/graphql", json={"query": SEARCH, "variables": {"q": "order",
                                                                                                  "first": 20}})
        if answer.status_code != 200 or answer.json().get("errors"):
            raise RuntimeError(f"searchMessages failed: {answer.text[:500]}")


def measure_searches(graphql: Any, token: str, args: argparse.Namespace, label: str = "B4 searchMessages"
                     ) -> tuple[list, Any]:
    """The first search (untimed), then each term for `--duration` / 5 s: a row per term, and
    every term's requests merged."""
    from bench.load import LoadResult, drive
    from bench.run import Row

    headers = {"Authorization": f"Bearer {token}"}
    first_search(graphql, headers)
    seconds = max(1.0, args.duration / len(TERMS))
    print(f"[bench] {label}: {len(TERMS)} terms, {seconds:g}s each", flush=True)
    rows, results = [], []
    for term in TERMS:
        result = drive(f"{graphql.base_url}/graphql", body={"query": SEARCH, "variables": {"q": term, "first": 20}},
                       headers=headers, duration=seconds, concurrency=args.latency_concurrency, client=args.client,
                       warmup=0.3)
        results.append(result)
        rows.append(Row(f"{label} '{term}'", "p50 / p99 ms",
                        f"{result.p50_ms:.2f} / {result.p99_ms:.2f}",
                        note=f"{result.requests} requests, {result.failures} failed"
                        + (f": {result.first_failure[:160]}" if result.first_failure else "")))
    return rows, LoadResult.merged(results)


def run_b4(graphql: Any, token: str, args: argparse.Namespace) -> list:
    from bench.run import Row, verdict

    rows, merged = measure_searches(graphql, token, args)
    p99 = round(merged.p99_ms, 2)
    return rows + [
        Row("B4 searchMessages (all terms)", "p50 ms", round(merged.p50_ms, 2)),
        Row("B4 searchMessages (all terms)", "p99 ms", p99, target="<= 50 ms", verdict=verdict(p99 <= 50),
            note=f"first: 20, as the supervisor; {args.latency_concurrency} request(s) at a time"),
        Row("B4 searchMessages (all terms)", "failed requests", f"{merged.failures}/{merged.requests}"),
    ]
