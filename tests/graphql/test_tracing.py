"""OpenTelemetry tracing (the `otel` extra, installed with `test`): each operation is a span with
its parse, validation and resolver spans; asked for without the extra, a one-line error."""
from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from openchannels import tracing
from resolvers.context import Context
from schema import build_schema
from tests.factories import make_admin


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


async def test_an_operation_is_traced_with_its_steps_and_resolvers(db, spans):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    traced = build_schema(tracing=(tracing.tracing_extension(provider),))
    _, admin = await make_admin()

    result = await traced.execute("query OpsTraced { me { operator { name } } }", context_value=Context(viewer=admin))

    assert result.errors is None and result.data["me"]["operator"]["name"]
    names = [span.name for span in spans.get_finished_spans()]
    assert "GraphQL Query: OpsTraced" in names
    assert {"GraphQL Parsing", "GraphQL Validation"} <= set(names)
    assert any(name.startswith("GraphQL Resolving: me") for name in names), names
    operation = next(span for span in spans.get_finished_spans() if span.name == "GraphQL Query: OpsTraced")
    children = [span for span in spans.get_finished_spans() if span.parent is not None]
    assert children and all(span.context.trace_id == operation.context.trace_id for span in children)


def test_the_endpoint_turns_tracing_on_and_nothing_without_it():
    assert tracing.tracing_extensions("") == ()
    assert len(tracing.tracing_extensions("http://127.0.0.1:9")) == 1  # nothing is sent until spans end


def test_without_the_extra_the_error_is_one_clear_line():
    blocked = ("import sys; sys.modules['opentelemetry.sdk'] = None; "
               "from openchannels.tracing import check_installed, TracingNotInstalled\n"
               "try:\n    check_installed('http://collector:4318')\n"
               "except TracingNotInstalled as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60)

    assert done.stdout.strip() == tracing.MISSING_EXTRA
    assert "pip install 'openchannels[otel]'" in tracing.MISSING_EXTRA
    assert "\n" not in tracing.MISSING_EXTRA
