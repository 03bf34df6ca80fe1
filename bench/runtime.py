"""Where the tail goes: the GraphQL server's own garbage-collection pauses and event-loop stalls
over a measurement, read from its /metrics before and after
(infrastructure/runtime_metrics.py; the bench server runs with METRICS_TOKEN)."""
from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "bench-metrics"

Samples = dict[tuple[str, tuple], float]


def read(base_url: str) -> Samples:
    """Every sample of the server's /metrics ({} when it has none)."""
    try:
        answer = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
    except httpx.HTTPError:
        return {}
    if answer.status_code != 200:
        return {}
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def summed(reads: list[Samples]) -> Samples:
    """Several servers' samples as one server's: each series summed ({} when one has none)."""
    if not all(reads):
        return {}
    result: Samples = {}
    for samples in reads:
        for key, value in samples.items():
            result[key] = result.get(key, 0.0) + value
    return result


def total(samples: Samples, name: str) -> float:
    """The sum of every series of `name` (every label value)."""
    return sum(value for (sample, _), value in samples.items() if sample == name)


def events_received_per_operation(before: Samples, after: Samples) -> float | None:
    """Messages the server's processes read from the Redis event channel per GraphQL operation
    between two reads (several processes: /metrics sums them), None without figures."""
    operations = total(after, "openchannels_graphql_operations_total") - total(before, "openchannels_graphql_operations_total")
    if not after or operations <= 0:
        return None
    received = total(after, "openchannels_broker_events_received_total") - \
        total(before, "openchannels_broker_events_received_total")
    return received / operations


def _delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def summary(before: Samples, after: Samples, requests: int) -> dict[str, Any]:
    """What the server spent outside the requests' own code between two reads."""
    if not after:
        return {}
    gc = {}
    for generation in ("0", "1", "2"):
        count = _delta(before, after, "openchannels_gc_pause_seconds_count", generation=generation)
        total = _delta(before, after, "openchannels_gc_pause_seconds_sum", generation=generation)
        gc[generation] = {"count": int(count), "ms": round(total * 1000, 1)}
    probes = _delta(before, after, "openchannels_event_loop_lag_seconds_count")
    stalls = {bound: int(probes - _delta(before, after, "openchannels_event_loop_lag_seconds_bucket", le=bound))
              for bound in ("0.005", "0.01", "0.025", "0.05")}
    gc_us = sum(g["ms"] for g in gc.values()) * 1000 / max(1, requests)
    return {"requests": requests, "gc": gc, "gc_us_per_request": round(gc_us, 1), "probes": int(probes),
            "probes_later_than": stalls}


def note(found: dict[str, Any]) -> str:
    if not found:
        return "the server's /metrics could not be read"
    gc = found["gc"]
    stalls = found["probes_later_than"]
    return (f"over {found['requests']} requests: collections gen0 {gc['0']['count']} ({gc['0']['ms']} ms), "
            f"gen1 {gc['1']['count']} ({gc['1']['ms']} ms), gen2 {gc['2']['count']} ({gc['2']['ms']} ms), "
            f"{found['gc_us_per_request']:.0f} us per request; loop probes {found['probes']}, late by > 5 ms "
            f"{stalls['0.005']}, > 10 ms {stalls['0.01']}, > 25 ms {stalls['0.025']}, > 50 ms {stalls['0.05']}")
