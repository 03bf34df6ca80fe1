"""The service's Prometheus metrics: what operators look at (served by openchannels/metrics_endpoint.py).

Every update on a hot path is one counter increment or one histogram observation on a child
looked up in a dict (no label parsing, no allocation beyond the first time a label pair is seen).

Cardinality is bounded: the `operation` label is the name of a valid operation, and only the
first MAX_OPERATION_NAMES distinct names get a series of their own; an operation without a name
is "anonymous", any other (a document that does not parse or validate, a name past the cap) is
"other".

Several server processes (OPENCHANNELS_WORKERS > 1): prometheus_client's multiprocess mode,
PROMETHEUS_MULTIPROC_DIR (set by `openchannels serve`); whichever process answers a scrape sums
every process's values. Gauges of a process count while it lives (`livesum`).
"""
from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

#: distinct operation names with series of their own; the others are counted as "other"
MAX_OPERATION_NAMES = 100
#: longest operation name kept as a label value
MAX_OPERATION_NAME_LENGTH = 64
ANONYMOUS = "anonymous"
OTHER = "other"
OK, USER_ERROR, ERROR = "ok", "user_error", "error"

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

OPERATIONS = Counter("openchannels_graphql_operations", "GraphQL operations (HTTP and WebSocket) by name, "
                     "type and outcome: ok, user_error (userErrors or a refused request), error (masked or "
                     "unavailable)", ["operation", "type", "outcome"])
OPERATION_SECONDS = Histogram("openchannels_graphql_operation_seconds", "Duration of GraphQL queries and "
                              "mutations, from parse to result", ["operation", "type"], buckets=_LATENCY_BUCKETS)
OPEN_WEBSOCKETS = Gauge("openchannels_websockets_open", "WebSocket connections open", multiprocess_mode="livesum")
ACTIVE_SUBSCRIPTIONS = Gauge("openchannels_subscriptions_active", "GraphQL subscription streams running (identical "
                             "subscriptions of one viewer on graphql-transport-ws share one)",
                             multiprocess_mode="livesum")
PUBLISH_FAILURES = Counter("openchannels_broker_publish_failures", "Publishes of committed events to the broker "
                           "that failed (subscribers re-read them from the database)")
EVENTS_RECEIVED = Counter("openchannels_broker_events_received", "Messages this process received on the Redis event "
                          "channel (none while it has no subscriber: it is then not subscribed)")
EVENT_DELIVERY_LAG = Histogram("openchannels_event_delivery_lag_seconds", "From an event's commit to its arrival "
                               "at the subscribers' queues of this process", buckets=_LAG_BUCKETS)
SCHEDULER_ROUND_SECONDS = Histogram("openchannels_scheduler_round_seconds", "Duration of a scheduler round (every "
                                    "due item fired)", buckets=_LAG_BUCKETS)
SCHEDULER_LAG = Histogram("openchannels_scheduler_lag_seconds", "How late a scheduler round started: the time "
                          "since the previous round ended beyond SCHEDULER_INTERVAL_SECONDS", buckets=_LAG_BUCKETS)
SCHEDULER_FAILURES = Counter("openchannels_scheduler_failures", "Scheduler rounds that failed (logged)")
DATABASE_POOL_SIZE = Gauge("openchannels_database_pool_connections", "Connections the database pool holds "
                           "(PostgreSQL)", multiprocess_mode="livesum")
DATABASE_POOL_IN_USE = Gauge("openchannels_database_pool_in_use", "Connections of the database pool lent out "
                             "(PostgreSQL)", multiprocess_mode="livesum")
DATABASE_POOL_MAX = Gauge("openchannels_database_pool_max", "Most connections the database pool may hold "
                          "(PostgreSQL)", multiprocess_mode="livesum")


class OperationSeries:
    """The children of the operation metrics, by label values, made once each (bounded)."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self._limit = limit
        self._names: set[str] = set()
        self._counters: dict[tuple[str, str, str], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    def label(self, name: object, valid: bool) -> str:
        """The `operation` label of an operation named `name` (`valid`: its document validated;
        `name` is what the client sent, which may be any JSON value)."""
        if not isinstance(name, str):
            return OTHER if name else (ANONYMOUS if valid else OTHER)
        if not name:
            return ANONYMOUS if valid else OTHER
        if name in self._names:
            return name
        if not valid or len(self._names) >= self._limit or len(name) > MAX_OPERATION_NAME_LENGTH:
            return OTHER
        self._names.add(name)
        return name

    def count(self, operation: str, kind: str, outcome: str) -> None:
        key = (operation, kind, outcome)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = OPERATIONS.labels(*key)
        child.inc()

    def observe(self, operation: str, kind: str, seconds: float) -> None:
        key = (operation, kind)
        child = self._histograms.get(key)
        if child is None:
            child = self._histograms[key] = OPERATION_SECONDS.labels(*key)
        child.observe(seconds)


operation_series = OperationSeries()


def observe_event_delivery(created_at: object) -> None:
    """An event arrived at this process's hub: its lag since commit (`created_at`, ISO 8601)."""
    if isinstance(created_at, str):
        try:
            EVENT_DELIVERY_LAG.observe(max(0.0, time.time() - datetime.fromisoformat(created_at).timestamp()))
        except ValueError:
            pass
