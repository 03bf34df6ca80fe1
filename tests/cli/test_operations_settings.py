"""`openchannels serve` refuses, in one line and before it starts, the operations settings it
cannot honour: an unknown LOG_FORMAT, and tracing asked for without the `otel` extra."""
from __future__ import annotations

from pathlib import Path

from bench.ports import free_port
from openchannels.tracing import MISSING_EXTRA
from tests.cli.running import assert_one_line_error, run


def test_an_unknown_log_format_is_one_line(tmp_path: Path):
    assert_one_line_error(run(tmp_path, "serve", "--port", str(free_port()), LOG_FORMAT="xml"), "LOG_FORMAT", "text or json")


def test_tracing_without_the_extra_is_one_line(tmp_path: Path):
    shadow = tmp_path / "shadow" / "opentelemetry"  # an `opentelemetry` without the SDK: the extra is missing
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")

    result = run(tmp_path, "serve", "--port", str(free_port()), OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
                 PYTHONPATH=str(shadow.parent))

    assert assert_one_line_error(result) == f"openchannels: error: {MISSING_EXTRA}"
