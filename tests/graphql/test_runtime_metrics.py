"""Where a tail comes from, on /metrics: garbage-collection pauses and event-loop stalls of the
serving process (infrastructure/runtime_metrics.py), as an operator reads them while the app runs."""
from __future__ import annotations

import asyncio
import gc
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.settings import Settings
from openchannels.app import create_app

TOKEN = "metrics-token"


async def _samples(api: httpx.AsyncClient) -> dict[tuple[str, tuple], float]:
    answer = await api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


async def test_collections_and_a_stalled_loop_show_on_metrics_while_the_app_runs(db, database_url, platform):
    app = create_app(Settings(database_url=database_url, scheduler_interval_seconds=0, metrics_token=TOKEN), platform)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oc.test") as api:
            before = await _samples(api)
            gc.collect()  # a full collection: generation 2
            time.sleep(0.3)  # something holds the loop for 300 ms
            await asyncio.sleep(0.25)  # the probe wakes late, once
            after = await _samples(api)
    full = ("openchannels_gc_pause_seconds_count", (("generation", "2"),))
    assert after[full] >= before.get(full, 0) + 1
    assert after[("openchannels_gc_pause_seconds_sum", (("generation", "2"),))] > 0
    lag_count = ("openchannels_event_loop_lag_seconds_count", ())
    late = after[lag_count] - after[("openchannels_event_loop_lag_seconds_bucket", (("le", "0.1"),))]
    late_before = before.get(lag_count, 0) - before.get(("openchannels_event_loop_lag_seconds_bucket", (("le", "0.1"),)), 0)
    assert late >= late_before + 1  # the stall was seen: a wake more than 100 ms late
