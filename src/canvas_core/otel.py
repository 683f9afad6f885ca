"""OpenTelemetry instrumentation of the event bus: one call turns it on.

    import canvas_core.otel

    canvas_core.otel.instrument()      # spans and metrics for every emission
    canvas_core.otel.uninstrument()    # back to zero cost

Needs the ``otel`` extra (``pip install canvas-core[otel]``), which brings
``opentelemetry-api`` only; configure the SDK and exporters in your
application as usual. Without explicit providers, the global ones are used.

Traces
    A span ``emit <EventType>`` per emission, with a child span per handler
    named after the handler. A handler that emits nests its emission's span
    under its own. Attributes: ``canvas.event.type``, ``canvas.event.origin``,
    ``canvas.event.handler_count`` and ``canvas.emission.outcome`` on emission
    spans; ``canvas.event.type``, ``canvas.handler.name`` and
    ``canvas.handler.outcome`` on handler spans. Emission spans also carry
    what :func:`canvas_core.events.context` says (``canvas.context.actor``,
    ``canvas.context.request_id``, ``canvas.context.reason``,
    ``canvas.context.extra.<key>``); metrics never do, their values being
    unbounded. A failed handler's span
    records the exception and has status ERROR. Spans cover running the
    handlers; validation happens before and is not traced.

Metrics
    ``canvas.events.emissions`` (counter), ``canvas.events.handler_failures``
    (counter) and ``canvas.events.handler.duration`` (histogram, seconds).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, trace
    from opentelemetry.trace import Span, Status, StatusCode
except ImportError as exc:
    raise ImportError(
        "canvas_core.otel needs OpenTelemetry's API; install it with `pip install canvas-core[otel]`"
    ) from exc

from canvas_core import __version__
from canvas_core.events import Emission, Instrument, add_instrument, current_context, remove_instrument
from canvas_core.events._describe import describe_callable, describe_exception, describe_origin
from canvas_core.events._registry import Handler

__all__ = ["OpenTelemetryInstrument", "instrument", "is_instrumented", "uninstrument"]

SCOPE_NAME = "canvas_core.events"

# Attribute names.
EVENT_TYPE = "canvas.event.type"
EVENT_ORIGIN = "canvas.event.origin"
HANDLER_COUNT = "canvas.event.handler_count"
CONTEXT_PREFIX = "canvas.context."
"""Prefix of emission span attributes from :func:`canvas_core.events.context` (``canvas.context.actor``...)."""
EMISSION_OUTCOME = "canvas.emission.outcome"
HANDLER_NAME = "canvas.handler.name"
HANDLER_OUTCOME = "canvas.handler.outcome"
EXCEPTION_TYPE = "error.type"  # OpenTelemetry's semantic convention name


def _event_type_name(event_type: type[object]) -> str:
    return f"{event_type.__module__}.{event_type.__qualname__}"


class OpenTelemetryInstrument(Instrument):
    """Traces and measures emissions with the given (or global) providers. See the module docs."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.tracer = trace.get_tracer(SCOPE_NAME, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE_NAME, __version__, meter_provider=meter_provider)
        self.emissions = meter.create_counter(
            "canvas.events.emissions", unit="{emission}", description="Events emitted"
        )
        self.handler_failures = meter.create_counter(
            "canvas.events.handler_failures", unit="{failure}", description="Handler calls that raised"
        )
        self.handler_duration = meter.create_histogram(
            "canvas.events.handler.duration", unit="s", description="Time spent in one handler call"
        )

    def emission(self, emission: Emission) -> AbstractContextManager[object]:
        return _EmissionScope(self, emission)

    def handler(self, emission: Emission, handler: Handler) -> AbstractContextManager[object]:
        return _HandlerScope(self, emission, handler)


class _EmissionScope:
    """The span of one emission, current while its handlers run."""

    __slots__ = ("_emission", "_instrument", "_span", "_token")

    def __init__(self, instrument: OpenTelemetryInstrument, emission: Emission) -> None:
        self._instrument = instrument
        self._emission = emission

    def __enter__(self) -> Span:
        emission = self._emission
        event_type = type(emission.event)
        attributes = {
            EVENT_TYPE: _event_type_name(event_type),
            EVENT_ORIGIN: describe_origin(emission.origin),
        }
        self._instrument.emissions.add(1, attributes)
        span_attributes: dict[str, Any] = {**attributes, HANDLER_COUNT: len(emission.handlers)}
        context = current_context()
        if context:  # who, which request, why (events.context()); not on metrics: unbounded values
            span_attributes.update({f"{CONTEXT_PREFIX}{key}": value for key, value in _flat(context.as_dict())})
        span = self._instrument.tracer.start_span(f"emit {event_type.__qualname__}", attributes=span_attributes)
        self._span = span
        self._token = otel_context.attach(trace.set_span_in_context(span))
        return span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        otel_context.detach(self._token)
        span = self._span
        try:
            if exc is not None:  # only a BaseException (KeyboardInterrupt...) gets through the dispatcher
                _record_exception(span, exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
                span.set_attribute(EMISSION_OUTCOME, "interrupted")
            else:
                span.set_attribute(EMISSION_OUTCOME, "failure" if self._emission.failures else "success")
        finally:
            span.end()


def _flat(values: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in values.items():
        if isinstance(value, dict):
            yield from ((f"{key}.{inner}", item) for inner, item in value.items())
        else:
            yield key, value


class _HandlerScope:
    """The span and measurements of one handler call."""

    __slots__ = ("_attributes", "_emission", "_handler", "_instrument", "_span", "_start", "_token")

    def __init__(self, instrument: OpenTelemetryInstrument, emission: Emission, handler: Handler) -> None:
        self._instrument = instrument
        self._emission = emission
        self._handler = handler

    def __enter__(self) -> Span:
        name = describe_callable(self._handler)
        self._attributes = {EVENT_TYPE: _event_type_name(type(self._emission.event)), HANDLER_NAME: name}
        # The SDK copies the attributes, so the dict can gain the outcome for the metrics later.
        span = self._instrument.tracer.start_span(name, attributes=self._attributes)
        self._span = span
        self._token = otel_context.attach(trace.set_span_in_context(span))
        self._start = time.perf_counter()
        return span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        duration = time.perf_counter() - self._start
        otel_context.detach(self._token)
        span = self._span
        attributes = self._attributes
        try:
            if exc is None:
                attributes[HANDLER_OUTCOME] = "success"
                span.set_attribute(HANDLER_OUTCOME, "success")
            else:
                attributes[HANDLER_OUTCOME] = "failure"
                attributes[EXCEPTION_TYPE] = type(exc).__qualname__
                self._instrument.handler_failures.add(1, attributes)
                span.set_attributes({HANDLER_OUTCOME: "failure", EXCEPTION_TYPE: type(exc).__qualname__})
                _record_exception(span, exc)
                span.set_status(Status(StatusCode.ERROR, describe_exception(exc)))
        finally:
            # Whatever the exception does when described, the span ends and the
            # call is measured; the handler's own exception is what gets reported.
            span.end()
            self._instrument.handler_duration.record(duration, attributes)


def _record_exception(span: Span, exc: BaseException) -> None:
    """``span.record_exception(exc)``, also for an exception whose ``__str__`` raises.

    The SDK calls ``str(exc)``; when that fails, the same semantic-convention
    event is added by hand with a message that says so.
    """
    try:
        str(exc)
    except Exception:
        span.add_event(
            "exception",
            {
                "exception.type": type(exc).__qualname__,
                "exception.message": describe_exception(exc),
                "exception.stacktrace": "".join(traceback.format_exception(exc)),
                "exception.escaped": "False",
            },
        )
    else:
        span.record_exception(exc)


_lock = threading.Lock()
_installed: OpenTelemetryInstrument | None = None


def instrument(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> OpenTelemetryInstrument:
    """Trace and measure every emission from now on; return the installed instrument.

    Without providers, OpenTelemetry's global ones are used (set them up
    before or after; the API's proxies follow). Calling it again replaces the
    previous instrumentation (with the new providers).
    """
    global _installed
    with _lock:
        new = OpenTelemetryInstrument(tracer_provider, meter_provider)
        if _installed is not None:
            remove_instrument(_installed)
        add_instrument(new)
        _installed = new
        return new


def uninstrument() -> None:
    """Stop tracing and measuring emissions (doing nothing if not instrumented)."""
    global _installed
    with _lock:
        if _installed is not None:
            remove_instrument(_installed)
            _installed = None


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect."""
    return _installed is not None
