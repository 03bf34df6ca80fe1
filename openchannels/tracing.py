"""OpenTelemetry tracing (the `otel` extra): on when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Each GraphQL operation becomes a span with its parse, validation and resolver spans
(Strawberry's OpenTelemetryExtension), sent in batches over OTLP/HTTP. The exporter and the
SDK read the other standard variables themselves (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS,
OTEL_TRACES_SAMPLER, ...). Unset: nothing of OpenTelemetry is imported and nothing is traced.
"""
from __future__ import annotations

import os
import sys
from functools import partial
from typing import Any

MISSING_EXTRA = ("OTEL_EXPORTER_OTLP_ENDPOINT is set but tracing is not installed: "
                 "pip install 'openchannels[otel]' (or unset OTEL_EXPORTER_OTLP_ENDPOINT)")
SERVICE_NAME = "openchannels"


class TracingNotInstalled(RuntimeError):
    """OTEL_EXPORTER_OTLP_ENDPOINT is set, and the `otel` extra is missing."""


def check_installed(endpoint: str) -> None:
    """Raise TracingNotInstalled (one line: MISSING_EXTRA) when tracing is asked for and cannot run."""
    if not endpoint:
        return
    try:  # the optional extra [otel]: only asked whether it is installed
        import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
        import opentelemetry.sdk.trace  # noqa: F401
        import strawberry.extensions.tracing.opentelemetry  # noqa: F401
    except ImportError as error:
        raise TracingNotInstalled(MISSING_EXTRA) from error


def tracing_extension(tracer_provider: Any) -> Any:
    """Strawberry's OpenTelemetryExtension on `tracer_provider`, as a factory (one instance per operation)."""
    from strawberry.extensions.tracing import OpenTelemetryExtension  # imports the optional extra [otel]

    return partial(OpenTelemetryExtension, tracer_provider=tracer_provider)


def tracing_extensions(endpoint: str) -> tuple[Any, ...]:
    """The schema extensions that trace to the collector at `endpoint` (none when it is unset)."""
    if not endpoint:
        return ()
    check_installed(endpoint)
    # the optional extra [otel], installed (checked just above)
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    named = os.environ.get("OTEL_SERVICE_NAME")
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # the endpoint from the environment
    trace.set_tracer_provider(provider)
    return (tracing_extension(provider),)


def shutdown_tracing() -> None:
    """Send the spans still waiting (at the end of the lifespan)."""
    if "opentelemetry.trace" not in sys.modules:
        return
    from opentelemetry import trace  # the optional extra [otel], imported already

    shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
    if shutdown is not None:
        shutdown()
