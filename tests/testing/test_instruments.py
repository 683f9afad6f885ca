"""The instrument interception point in the core: what hooks see, and that it costs nothing when unused."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvas_core import events
from canvas_core.events._dispatch import registry


class Ping(events.Event):
    count: int = 0


class Pong(events.Event):
    count: int = 0


class Recorder(events.Instrument):
    """Writes every hook call to a shared log."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def emission(self, emission: events.Emission) -> AbstractContextManager[object]:
        return self._scope(f"emission {type(emission.event).__name__} x{len(emission.handlers)}")

    def handler(self, emission: events.Emission, handler: Any) -> AbstractContextManager[object]:
        return self._scope(f"handler {handler.__name__}")

    @contextmanager
    def _scope(self, what: str) -> Iterator[None]:
        self.log.append(f"{self.name} enter {what}")
        try:
            yield
        except Exception as exc:
            self.log.append(f"{self.name} saw {type(exc).__name__}")
            raise
        finally:
            self.log.append(f"{self.name} exit {what}")


@pytest.mark.usefixtures("no_outer_instruments")
def test_no_instrument_leaves_the_plans_untouched() -> None:
    @events.handle_event(Ping)
    def handler(event: Ping) -> None: ...

    events.emit_event(Ping)
    assert registry.plans[Ping, None][1] == (handler,)


@pytest.mark.usefixtures("no_outer_instruments")
def test_an_installed_instrument_wraps_every_plan_and_removing_it_restores_them() -> None:
    @events.handle_event(Ping)
    def handler(event: Ping) -> None: ...

    events.emit_event(Ping)
    log: list[str] = []
    with events.instrumented(Recorder("r", log)):
        events.emit_event(Ping)
        assert registry.plans[Ping, None][1] != (handler,)
    events.emit_event(Ping)
    assert registry.plans[Ping, None][1] == (handler,)
    assert log == [
        "r enter emission Ping x1",
        "r enter handler handler",
        "r exit handler handler",
        "r exit emission Ping x1",
    ]


@pytest.mark.usefixtures("no_outer_instruments")
@pytest.mark.canvas_fail_on_handler_error(False)  # handlers fail on purpose
def test_instruments_nest_in_installation_order_and_see_handler_failures() -> None:
    log: list[str] = []

    @events.handle_event(Ping)
    def broken(event: Ping) -> None:
        raise ValueError("no")

    with events.instrumented(Recorder("outer", log), Recorder("inner", log)):
        events.emit_event(Ping)
    assert log == [
        "outer enter emission Ping x1",
        "inner enter emission Ping x1",
        "outer enter handler broken",
        "inner enter handler broken",
        "inner saw ValueError",
        "inner exit handler broken",
        "outer saw ValueError",
        "outer exit handler broken",
        # the failure is reported (a HandlerFailed emission) inside the failed emission
        "outer enter emission HandlerFailed x0",
        "inner enter emission HandlerFailed x0",
        "inner exit emission HandlerFailed x0",
        "outer exit emission HandlerFailed x0",
        "inner exit emission Ping x1",
        "outer exit emission Ping x1",
    ]


@pytest.mark.canvas_fail_on_handler_error(False)  # handlers fail on purpose
def test_failures_stay_isolated_and_are_listed_on_the_emission(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[events.Emission] = []
    ran: list[str] = []

    class Keep(events.Instrument):
        def emission(self, emission: events.Emission) -> AbstractContextManager[object]:
            seen.append(emission)
            return super().emission(emission)

    @events.handle_event(Ping)
    def broken(event: Ping) -> None:
        raise ValueError("no")

    @events.handle_event(Ping)
    def fine(event: Ping) -> None:
        ran.append("fine")

    reported: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reported.append)
    with events.instrumented(Keep()):
        events.emit_event(Ping)
    assert ran == ["fine"]
    assert [(h, type(e)) for h, e in seen[0].failures] == [(broken, ValueError)]
    assert [r.handler for r in reported] == [broken]
    assert "Handler tests.testing.test_instruments" in caplog.text


def test_emissions_without_handlers_are_seen_too() -> None:
    seen: list[events.Emission] = []

    class Keep(events.Instrument):
        def emission(self, emission: events.Emission) -> AbstractContextManager[object]:
            seen.append(emission)
            return super().emission(emission)

    with events.instrumented(Keep()):
        pong = events.emit_event(Pong, count=3)
    assert [(e.event, e.handlers) for e in seen] == [(pong, ())]


def test_generic_events_emitted_unparametrized_are_instrumented() -> None:
    class Setting:
        pass

    seen: list[type[events.Event]] = []

    class Keep(events.Instrument):
        def emission(self, emission: events.Emission) -> AbstractContextManager[object]:
            seen.append(type(emission.event))
            return super().emission(emission)

    events.handle_event(events.PostRecordUpdate[Setting])(lambda event: None)
    with events.instrumented(Keep()):
        events.emit_event(events.PostRecordUpdate, record=Setting(), diff={})
    assert seen == [events.PostRecordUpdate[Setting]]


@pytest.mark.usefixtures("no_outer_instruments")  # asserts an exact order
def test_select_handlers_chooses_and_orders_per_emission() -> None:
    ran: list[str] = []

    @events.handle_event(Ping)
    def first(event: Ping) -> None:
        ran.append("first")

    @events.handle_event(Ping)
    def second(event: Ping) -> None:
        ran.append("second")

    class Reverse(events.Instrument):
        def select_handlers(self, event: events.Event, origin: object, handlers: tuple[Any, ...]) -> Sequence[Any]:
            return handlers[::-1] if event.count else ()  # type: ignore[attr-defined]

    with events.instrumented(Reverse()):
        events.emit_event(Ping, count=0)
        assert ran == []
        events.emit_event(Ping, count=1)
    assert ran == ["second", "first"]


def test_a_failing_instrument_is_isolated_like_a_handler(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(events.Instrument):
        def emission(self, emission: events.Emission) -> AbstractContextManager[object]:
            raise RuntimeError("instrument bug")

    with events.instrumented(Broken()):
        assert events.emit_event(Ping, count=2).count == 2
    assert "instrument bug" in caplog.text


def test_add_instrument_rejects_other_objects_and_ignores_duplicates() -> None:
    with pytest.raises(TypeError, match="subclass Instrument"):
        events.add_instrument(object())  # type: ignore[arg-type]
    instrument = events.Instrument()
    events.add_instrument(instrument)
    events.add_instrument(instrument)
    try:
        assert events.installed_instruments().count(instrument) == 1
    finally:
        assert events.remove_instrument(instrument)
    assert not events.remove_instrument(instrument)
    assert instrument not in events.installed_instruments()


def test_instrumented_leaves_already_installed_instruments_installed() -> None:
    instrument = events.Instrument()
    events.add_instrument(instrument)
    try:
        with events.instrumented(instrument):
            pass
        assert instrument in events.installed_instruments()
    finally:
        events.remove_instrument(instrument)


def test_instruments_see_emissions_from_other_threads() -> None:
    seen: list[str] = []

    class Keep(events.Instrument):
        def emission(self, emission: events.Emission) -> AbstractContextManager[object]:
            seen.append(threading.current_thread().name)
            return super().emission(emission)

    with events.instrumented(Keep()):
        thread = threading.Thread(target=events.emit_event, args=(Ping,), name="worker")
        thread.start()
        thread.join()
    assert seen == ["worker"]


@given(st.lists(st.sampled_from([Ping, Pong]), max_size=20), st.booleans())
def test_instrumented_and_plain_dispatch_run_the_same_handlers(
    kinds: list[type[events.Event]], instrumented: bool
) -> None:
    ran: list[tuple[str, str]] = []
    with events.instrumented(*([events.Instrument()] if instrumented else [])):
        registry_before = registry.snapshot()
        try:
            events.handle_event(Ping)(lambda event: ran.append(("ping", type(event).__name__)))
            events.handle_event(events.Event)(lambda event: ran.append(("any", type(event).__name__)))
            for kind in kinds:
                events.emit_event(kind)
        finally:
            registry.restore(registry_before)
    expected = []
    for kind in kinds:
        if kind is Ping:
            expected.append(("ping", "Ping"))
        expected.append(("any", kind.__name__))
    assert sorted(ran) == sorted(expected)
