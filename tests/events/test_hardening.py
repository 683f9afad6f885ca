"""Promises under adversarial use: instruments with async handlers, hostile origins and handlers, no data in errors."""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Annotated, Any, Generic, Literal, TypeVar

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from pydantic import AliasChoices, AliasPath, BaseModel, Field

import canvas_core.otel
from canvas_core import events
from canvas_core.testing import capture_events, shuffled_handlers

pytestmark = pytest.mark.canvas_fail_on_handler_error(False)  # failures are the point here


class Ping(events.Event):
    count: int = 0


class Pong(events.Event):
    pass


@contextmanager
def otel_instrumented() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    canvas_core.otel.instrument(tracer_provider=provider, meter_provider=MeterProvider())
    try:
        yield spans
    finally:
        canvas_core.otel.uninstrument()


@contextmanager
def emissions_logged() -> Iterator[None]:
    events.log_emissions()
    try:
        yield
    finally:
        events.log_emissions(False)


INSTRUMENTS: dict[str, Any] = {
    "capture_events": capture_events,
    "log_emissions": emissions_logged,
    "otel": otel_instrumented,
    "shuffle": lambda: shuffled_handlers(seed=1),
    "all of them": None,
}


@contextmanager
def installed(name: str) -> Iterator[None]:
    with ExitStack() as stack:
        chosen = INSTRUMENTS[name]
        factories = [f for f in INSTRUMENTS.values() if f is not None] if chosen is None else [chosen]
        for factory in factories:
            manager: AbstractContextManager[object] = factory()
            stack.enter_context(manager)
        yield


# -- 1. instruments and aemit_event -------------------------------------------------------------


@pytest.mark.parametrize("instrument", list(INSTRUMENTS))
def test_async_handlers_run_under_aemit_with_any_instrument(instrument: str) -> None:
    ran: list[str] = []
    failures: list[events.HandlerFailed] = []

    @events.handle_event(Ping)
    async def outer(event: Ping) -> None:
        await asyncio.sleep(0)
        event.count += 1
        ran.append("outer")
        await events.aemit_event(Pong)  # nested aemit_event is instrumented too

    @events.handle_event(Pong)
    async def inner(event: Pong) -> None:
        await asyncio.sleep(0)
        ran.append("inner")

    @events.handle_event(Ping)
    def plain(event: Ping) -> None:
        ran.append("plain")

    events.handle_event(events.HandlerFailed)(failures.append)

    async def main() -> Ping:
        with installed(instrument):
            return await events.aemit_event(Ping)

    sent = asyncio.run(main())
    assert failures == []
    assert sorted(ran) == ["inner", "outer", "plain"]
    assert sent.count == 1


def test_async_failures_under_instruments_reach_async_reporters() -> None:
    reported: list[str] = []

    @events.handle_event(Ping)
    async def broken(event: Ping) -> None:
        raise ValueError("down")

    @events.handle_event(events.HandlerFailed)
    async def report(event: events.HandlerFailed) -> None:
        await asyncio.sleep(0)
        reported.append(type(event.exception).__name__)

    async def main() -> None:
        with capture_events() as captured:
            await events.aemit_event(Ping)
        assert [type(e.event) for e in captured.emissions] == [Ping, events.HandlerFailed]

    asyncio.run(main())
    assert reported == ["ValueError"]


# -- 2. hostile origins -------------------------------------------------------------------------


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("repr")


class AttributesRaise:
    def __getattribute__(self, name: str) -> Any:
        if name in ("__class__", "__hash__", "__eq__"):
            return object.__getattribute__(self, name)
        raise RuntimeError(name)


class HashRaises:
    def __hash__(self) -> int:
        raise ValueError("hash")


class QualnameRaises(type):
    def __getattribute__(cls, name: str) -> Any:
        if name in ("__qualname__", "__module__", "__name__"):
            raise RuntimeError(name)
        return super().__getattribute__(name)


class OddClass(metaclass=QualnameRaises):
    pass


@pytest.mark.parametrize(
    "origin",
    [ReprRaises(), AttributesRaise(), HashRaises(), OddClass, [1], float("nan")],
    ids=["repr-raises", "getattr-raises", "hash-raises", "qualname-raises", "unhashable", "nan"],
)
def test_a_failure_is_isolated_and_reported_whatever_the_origin(
    origin: object, caplog: pytest.LogCaptureFixture
) -> None:
    after: list[bool] = []
    reports: list[events.HandlerFailed] = []

    @events.handle_event(Ping)
    def broken(event: Ping) -> None:
        raise ValueError("down")

    @events.handle_event(Ping)
    def fine(event: Ping) -> None:
        after.append(True)

    events.handle_event(events.HandlerFailed)(reports.append)
    with instrumented_and_not() as modes:
        for _ in modes:
            after.clear()
            reports.clear()
            sent = events.emit_event(Ping, origin=origin)
            assert type(sent) is Ping
            assert after == [True]
            assert [type(r.exception) for r in reports] == [ValueError]
    assert "Handler tests.events.test_hardening." in caplog.text


@contextmanager
def instrumented_and_not() -> Iterator[list[None]]:
    """Run the body's loop once plainly and once with every instrument installed."""

    class Modes(list[None]):
        def __iter__(self) -> Iterator[None]:
            yield None
            with installed("all of them"):
                yield None

    yield Modes()


def test_validation_alias_named_origin_is_refused_at_class_definition() -> None:
    for alias in ("origin", AliasChoices("source", "origin"), AliasPath("origin", 0)):
        with pytest.raises(TypeError, match="cannot be passed as 'origin'"):

            class Bad(events.Event):
                source: str = Field(validation_alias=alias)


# -- 3. handlers that can never run ---------------------------------------------------------------


def test_generator_functions_are_refused_at_registration() -> None:
    def generator(event: Ping) -> Iterator[None]:
        yield

    async def async_generator(event: Ping) -> AsyncIterator[None]:
        yield

    class CallsAGenerator:
        def __call__(self, event: Ping) -> Iterator[None]:
            yield

    with pytest.raises(TypeError, match="is a generator function: calling it only creates a generator"):
        events.handle_event(Ping)(generator)
    with pytest.raises(TypeError, match="is an async generator function"):
        events.handle_event(Ping)(async_generator)
    with pytest.raises(TypeError, match="generator function"):
        events.handle_event(Ping)(CallsAGenerator())
    assert events.registrations() == []


@pytest.mark.parametrize("instrument", [None, "all of them"])
def test_a_sync_handler_returning_a_coroutine_is_reported_as_its_failure(instrument: str | None) -> None:
    started: list[bool] = []
    reports: list[events.HandlerFailed] = []

    async def work() -> None:
        started.append(True)

    events.handle_event(Ping)(lambda event: work())
    events.handle_event(events.HandlerFailed)(reports.append)
    with installed(instrument) if instrument else ExitStack():
        events.emit_event(Ping)

        async def main() -> None:
            await events.aemit_event(Ping)

        asyncio.run(main())
    assert started == []
    assert len(reports) == 2
    for report in reports:
        assert isinstance(report.exception, events.AsyncHandlerError)
        assert "is synchronous but returned coroutine, which nothing awaits" in str(report.exception)
        assert "async def" in str(report.exception)


# -- 4. no data in validation errors ---------------------------------------------------------------


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    name: str


class Directory(events.Event):
    by_email: dict[str, int] = Field(default_factory=dict)
    by_id: dict[int, list[int]] = Field(default_factory=dict)
    pet: Annotated[Cat | Dog, Field(discriminator="kind")] | None = None
    pets: list[Cat] = Field(default_factory=list)


SECRET = "alice@example.com"


@pytest.mark.parametrize(
    ("field", "value", "location"),
    [
        ("by_email", {SECRET: "x"}, "by_email.<key>"),
        ("by_id", {424242: ["x"]}, "by_id.<key>.0"),
        ("pet", {"kind": SECRET}, "pet"),
        ("pet", {"kind": "cat", "lives": SECRET}, "pet.cat.lives"),
        ("pets", [{"kind": "cat", "lives": SECRET}], "pets.0.lives"),
    ],
)
def test_validation_errors_keep_field_locations_but_never_data(
    field: str, value: object, location: str, caplog: pytest.LogCaptureFixture
) -> None:
    @events.handle_event(Directory)
    def assign(event: Directory) -> None:
        setattr(event, field, value)

    with otel_instrumented() as spans:
        events.emit_event(Directory)
    error = next(r for r in caplog.records if r.levelno == logging.ERROR)
    logged = caplog.text
    assert f"  {location}: " in logged
    for leaked in (SECRET, "424242"):
        assert leaked not in logged
        for span in spans.get_finished_spans():
            assert leaked not in str(span.status.description)
            assert all(leaked not in str(ev.attributes) for ev in span.events)
    assert error.exc_info is not None
    exc = error.exc_info[1]
    assert isinstance(exc, events.EventValidationError)
    assert SECRET not in repr(exc.errors())


def test_an_unknown_keyword_is_still_named() -> None:
    with pytest.raises(events.EventValidationError, match="mesage: unknown field"):
        events.emit_event(Ping, mesage="hi")  # type: ignore[call-arg]


# -- 5. pickling -----------------------------------------------------------------------------------

R = TypeVar("R")


class Wrapped(events.Event, Generic[R]):
    item: R


class Item:
    pass


def test_event_validation_errors_survive_pickling() -> None:
    invalid: list[Any] = [
        lambda: Ping(count="x"),  # type: ignore[arg-type]
        lambda: Wrapped[int](item="x"),  # type: ignore[arg-type]
        lambda: Directory(by_email={SECRET: "x"}),  # type: ignore[dict-item]
    ]
    for make in invalid:
        with pytest.raises(events.EventValidationError) as caught:
            make()
        copy = pickle.loads(pickle.dumps(caught.value))
        assert type(copy) is events.EventValidationError
        assert str(copy) == str(caught.value)
        assert copy.errors() == caught.value.errors()
        assert copy.event_type is caught.value.event_type
        assert SECRET.encode() not in pickle.dumps(caught.value)


# -- 7. OpenTelemetry and exceptions that cannot be described --------------------------------------


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


def test_otel_reports_the_handlers_own_exception_even_if_its_str_fails() -> None:
    reports: list[events.HandlerFailed] = []
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    canvas_core.otel.instrument(tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader]))
    try:

        @events.handle_event(Ping)
        def broken(event: Ping) -> None:
            raise Unprintable

        events.handle_event(events.HandlerFailed)(reports.append)
        events.emit_event(Ping)
    finally:
        canvas_core.otel.uninstrument()
    assert [type(r.exception) for r in reports] == [Unprintable]
    handler_span = next(s for s in spans.get_finished_spans() if s.name.endswith("broken"))
    assert handler_span.status.status_code is StatusCode.ERROR
    assert handler_span.status.description == "Unprintable (its __str__ raised)"
    assert [e.name for e in handler_span.events] == ["exception"]
    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}
    assert {"canvas.events.handler.duration", "canvas.events.handler_failures"} <= names


# -- 8. clear errors --------------------------------------------------------------------------------


def test_a_background_handler_of_handler_failed_is_refused_saying_what_to_do_instead() -> None:
    import canvas_core.background  # noqa: F401  # plugs background handlers in

    with pytest.raises(TypeError, match="HandlerFailed cannot go to a background handler") as raised:
        events.handle_event(events.HandlerFailed, background=True)(report_on_a_worker)
    assert "JSON-compatible" not in str(raised.value)
    assert "emit an event of your own" in str(raised.value)


def report_on_a_worker(event: events.HandlerFailed) -> None:
    pass
