"""What instrumentation costs per emission (one handler unless said otherwise).

Run with ``.venv/bin/python -m pytest tests/benchmarks/test_instrumented_dispatch.py -p no:randomly``
(the default test run ignores ``tests/benchmarks``). Compare each row with
``plain``: that is emission without any instrument, the path the shared
benchmark (``../shared/bench/compare.py``) measures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from pytest_benchmark.fixture import BenchmarkFixture

import canvas_core.otel
from canvas_core import events
from canvas_core.testing import capture_events, shuffled_handlers


class BenchEvent(events.Event):
    message: str
    count: int


class _Discard(SpanExporter):
    """Exports nowhere: measures building and ending spans, not I/O."""

    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _otel_sdk() -> AbstractContextManager[object]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_Discard()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return _OTel(provider, meter_provider)


class _OTel:
    def __init__(self, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None) -> None:
        self.providers = (tracer_provider, meter_provider)

    def __enter__(self) -> None:
        canvas_core.otel.instrument(tracer_provider=self.providers[0], meter_provider=self.providers[1])

    def __exit__(self, *exc: object) -> None:
        canvas_core.otel.uninstrument()


class _DebugLog:
    def __init__(self, level: int) -> None:
        self.level = level

    def __enter__(self) -> None:
        logger = logging.getLogger("canvas_core.events.emissions")
        self.saved = (logger.level, logger.propagate, list(logger.handlers))
        logger.setLevel(self.level)
        logger.propagate = False
        logger.handlers = [logging.NullHandler()]
        events.log_emissions()

    def __exit__(self, *exc: object) -> None:
        events.log_emissions(False)
        logger = logging.getLogger("canvas_core.events.emissions")
        logger.level, logger.propagate, logger.handlers = self.saved


SETUPS: dict[str, Callable[[], AbstractContextManager[object]]] = {
    "plain": nullcontext,
    "empty-instrument": lambda: events.instrumented(events.Instrument()),
    "capture": capture_events,
    "shuffle": lambda: shuffled_handlers(1),
    "debug-log-off": lambda: _DebugLog(logging.INFO),
    "debug-log-on": lambda: _DebugLog(logging.DEBUG),
    "otel-api-only": lambda: _OTel(None, None),
    "otel-sdk": _otel_sdk,
}


@pytest.fixture
def emit_one() -> Iterator[Callable[[], object]]:
    sink: list[int] = []

    @events.handle_event(BenchEvent)
    def handler(event: BenchEvent) -> None:
        sink.append(event.count)

    def run() -> None:
        events.emit_event(BenchEvent, message="hello", count=1)
        sink.clear()

    yield run
    events.remove_handler(handler)


@pytest.mark.parametrize("setup", SETUPS)
def test_emit1(benchmark: BenchmarkFixture, emit_one: Callable[[], object], setup: str) -> None:
    benchmark.group = "emit1"
    with SETUPS[setup]():
        benchmark(emit_one)
