"""Demo sections for testing tools and instrumentation: introspection, shuffling, debug log, OpenTelemetry."""

from __future__ import annotations

import logging
import os
import sys

from canvas_core import events
from canvas_core.testing import capture_events, isolated_handlers, shuffled_handlers

from ._output import section


class OrderPlaced(events.Event):
    total: int
    discounted: bool = False


class InvoiceSent(events.Event):
    total: int


class Shop:
    """An origin."""


def apply_discount(event: OrderPlaced) -> None:
    event.total -= 10
    event.discounted = True


def add_tax(event: OrderPlaced) -> None:
    event.total *= 2  # silently assumes the discount was applied first


def send_invoice(event: OrderPlaced) -> None:
    events.emit_event(InvoiceSent, total=event.total)


def introspection_demo() -> None:
    section("Introspection: who would receive an emission, defined where")
    for registration in events.registrations_for(OrderPlaced, origin=Shop):
        source = registration.source
        where = f"{os.path.relpath(source.file)}:{source.line}" if source else "?"
        origin = getattr(registration.origin, "__qualname__", registration.origin)
        print(f"  {registration.handler_name:<38} origin={origin!s:<5} {where}")


def shuffle_demo() -> None:
    section("Shuffled handler order finds handlers that depend on each other's order")
    totals = {events.emit_event(OrderPlaced, total=110).total for _ in range(20)}
    print(f"registration order, 20 emissions: totals {sorted(totals)}")
    with shuffled_handlers(seed=7) as shuffle, capture_events() as captured:
        totals = {events.emit_event(OrderPlaced, total=110).total for _ in range(20)}
    print(f"shuffled (seed {shuffle.seed}), 20 emissions: totals {sorted(totals)}; order matters!")
    print(
        f"captured {len(captured.events(OrderPlaced))} OrderPlaced and {len(captured.events(InvoiceSent))} InvoiceSent"
    )


def debug_log_demo() -> None:
    section("One DEBUG line per emission, once turned on")
    print(
        "events.log_emissions() turns it on: logger canvas_core.events.emissions, level DEBUG "
        "(type, origin, handler count, failures, duration; never field values):"
    )
    logger = logging.getLogger("canvas_core.events.emissions")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  log %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    events.log_emissions()
    try:
        events.emit_event(OrderPlaced, origin=Shop, total=50)
    finally:
        events.log_emissions(False)
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def otel_demo() -> None:
    section("OpenTelemetry: a span per emission, a child span per handler")
    try:
        from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        import canvas_core.otel
    except ImportError:
        print("(install canvas-core[otel] and opentelemetry-sdk to see this section)")
        return
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    canvas_core.otel.instrument(tracer_provider=provider)
    try:
        events.emit_event(OrderPlaced, origin=Shop, total=50)
    finally:
        canvas_core.otel.uninstrument()
    spans = exporter.get_finished_spans()
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        children.setdefault(span.parent.span_id if span.parent else None, []).append(span)

    def show(parent: int | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time or 0):
            outcome = (span.attributes or {}).get("canvas.handler.outcome") or (span.attributes or {}).get(
                "canvas.emission.outcome"
            )
            print(f"  {'  ' * depth}{span.name}  [{outcome}]")
            assert span.context is not None
            show(span.context.span_id, depth + 1)

    show(None, 0)


def run() -> None:
    with isolated_handlers():
        events.handle_event(OrderPlaced)(apply_discount)
        events.handle_event(OrderPlaced)(add_tax)
        events.handle_event(OrderPlaced, origin=Shop)(send_invoice)
        introspection_demo()
        shuffle_demo()
        debug_log_demo()
        otel_demo()
