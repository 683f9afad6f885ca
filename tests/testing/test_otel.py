"""OpenTelemetry spans and metrics, checked with the SDK's in-memory exporter and reader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import canvas_core.otel
from canvas_core import events

pytestmark = pytest.mark.canvas_fail_on_handler_error(False)  # failed handler spans are the point


class OrderPlaced(events.Event):
    total: int


class InvoiceSent(events.Event):
    pass


class Shop:
    pass


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> dict[str, ReadableSpan]:
        return {span.name: span for span in self.spans.get_finished_spans()}

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    canvas_core.otel.instrument(tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader]))
    try:
        yield Telemetry(spans, reader)
    finally:
        canvas_core.otel.uninstrument()


def send_invoice(event: OrderPlaced) -> None:
    events.emit_event(InvoiceSent, origin=Shop)


def reject(event: InvoiceSent) -> None:
    raise ValueError("mail server down")


def test_spans_nest_and_carry_attributes(telemetry: Telemetry) -> None:
    events.handle_event(OrderPlaced)(send_invoice)
    events.handle_event(InvoiceSent)(reject)
    events.emit_event(OrderPlaced, origin=Shop, total=5)

    spans = telemetry.finished()
    emit_order = spans["emit OrderPlaced"]
    handle_order = spans["tests.testing.test_otel.send_invoice"]
    emit_invoice = spans["emit InvoiceSent"]
    handle_invoice = spans["tests.testing.test_otel.reject"]
    emit_failure = spans["emit HandlerFailed"]

    def parent(span: ReadableSpan) -> int | None:
        return span.parent.span_id if span.parent else None

    assert parent(emit_order) is None
    assert parent(handle_order) == emit_order.context.span_id
    assert parent(emit_invoice) == handle_order.context.span_id
    assert parent(handle_invoice) == emit_invoice.context.span_id
    assert parent(emit_failure) == emit_invoice.context.span_id
    assert len({s.context.trace_id for s in spans.values()}) == 1

    assert dict(emit_order.attributes or {}) == {
        "canvas.event.type": "tests.testing.test_otel.OrderPlaced",
        "canvas.event.origin": "tests.testing.test_otel.Shop",
        "canvas.event.handler_count": 1,
        "canvas.emission.outcome": "success",
    }
    assert dict(handle_order.attributes or {}) == {
        "canvas.event.type": "tests.testing.test_otel.OrderPlaced",
        "canvas.handler.name": "tests.testing.test_otel.send_invoice",
        "canvas.handler.outcome": "success",
    }
    assert handle_order.status.status_code is StatusCode.UNSET
    assert emit_invoice.attributes is not None
    assert emit_invoice.attributes["canvas.emission.outcome"] == "failure"


def test_a_failed_handler_span_records_the_exception(telemetry: Telemetry) -> None:
    events.handle_event(InvoiceSent)(reject)
    events.emit_event(InvoiceSent)
    span = telemetry.finished()["tests.testing.test_otel.reject"]
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError: mail server down"
    assert span.attributes is not None
    assert span.attributes["canvas.handler.outcome"] == "failure"
    assert span.attributes["error.type"] == "ValueError"
    (exception,) = span.events
    assert exception.name == "exception"
    assert exception.attributes is not None
    assert exception.attributes["exception.type"] == "ValueError"
    assert exception.attributes["exception.message"] == "mail server down"
    assert "raise ValueError" in str(exception.attributes["exception.stacktrace"])


def test_counters_and_duration_histogram(telemetry: Telemetry) -> None:
    events.handle_event(OrderPlaced)(send_invoice)
    events.handle_event(InvoiceSent)(reject)
    events.emit_event(OrderPlaced, total=1)
    events.emit_event(OrderPlaced, total=2)

    emissions: dict[str, int] = {}
    for point in telemetry.points("canvas.events.emissions"):
        assert isinstance(point, NumberDataPoint)
        assert point.attributes is not None
        emissions[str(point.attributes["canvas.event.type"])] = int(point.value)
    assert emissions == {
        "tests.testing.test_otel.OrderPlaced": 2,
        "tests.testing.test_otel.InvoiceSent": 2,
        "canvas_core.events._reporting.HandlerFailed": 2,
    }
    (failures,) = telemetry.points("canvas.events.handler_failures")
    assert failures.value == 2
    assert failures.attributes["canvas.handler.name"] == "tests.testing.test_otel.reject"
    assert failures.attributes["error.type"] == "ValueError"
    durations = {
        (p.attributes["canvas.handler.name"], p.attributes["canvas.handler.outcome"]): p
        for p in telemetry.points("canvas.events.handler.duration")
    }
    assert set(durations) == {
        ("tests.testing.test_otel.send_invoice", "success"),
        ("tests.testing.test_otel.reject", "failure"),
    }
    for point in durations.values():
        assert isinstance(point, HistogramDataPoint)
        assert point.count == 2
        assert point.sum >= 0


def test_uninstrument_stops_and_instrument_again_replaces(telemetry: Telemetry) -> None:
    assert canvas_core.otel.is_instrumented()
    canvas_core.otel.uninstrument()
    canvas_core.otel.uninstrument()  # twice is fine
    assert not canvas_core.otel.is_instrumented()
    events.emit_event(InvoiceSent)
    assert telemetry.finished() == {}

    other = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(other))
    first = canvas_core.otel.instrument(tracer_provider=provider)
    second = canvas_core.otel.instrument(tracer_provider=provider)
    assert first not in events.installed_instruments()
    assert second in events.installed_instruments()
    events.emit_event(InvoiceSent)
    assert [s.name for s in other.get_finished_spans()] == ["emit InvoiceSent"]


def test_off_means_no_instrument_in_the_plan() -> None:
    assert not canvas_core.otel.is_instrumented()
    assert not any(isinstance(i, canvas_core.otel.OpenTelemetryInstrument) for i in events.installed_instruments())


def test_without_the_extra_the_import_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if opentelemetry-api were not installed
    spec = importlib.util.spec_from_file_location("canvas_core_otel_without_api", canvas_core.otel.__file__)
    assert spec is not None
    assert spec.loader is not None
    with pytest.raises(ImportError, match=r"install it with `pip install canvas-core\[otel\]`"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
