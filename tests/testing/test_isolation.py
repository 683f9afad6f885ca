"""Handler isolation: per-test restoration, only_handlers, muted, and the event_handlers fixture."""

from __future__ import annotations

import pytest

from canvas_core import events
from canvas_core.testing import EventCapture, isolated_handlers, muted, only_handlers
from canvas_core.testing.pytest_plugin import EventHandlers


class Ping(events.Event):
    pass


class Pong(events.Event):
    pass


class Loud(Ping):
    pass


def test_isolated_handlers_restores_additions_and_removals() -> None:
    def kept(event: Ping) -> None: ...
    def added(event: Ping) -> None: ...

    events.handle_event(Ping)(kept)
    with isolated_handlers():
        events.remove_handler(kept)
        events.handle_event(Ping)(added)
        assert events.handlers_for(Ping) == (added,)
    assert events.handlers_for(Ping) == (kept,)


def test_only_handlers_keeps_the_chosen_registrations() -> None:
    ran: list[str] = []

    @events.handle_event(Ping, origin="a")
    def chosen(event: Ping) -> None:
        ran.append("chosen")

    @events.handle_event(Ping)
    def other(event: Ping) -> None:
        ran.append("other")

    with only_handlers(chosen):
        events.emit_event(Ping, origin="a")
        events.emit_event(Ping, origin="b")  # chosen keeps its origin

        @events.handle_event(Ping)
        def registered_inside(event: Ping) -> None:
            ran.append("inside")

        events.emit_event(Ping, origin="a")
    assert ran[0] == "chosen"  # the second emission ran nothing: chosen only hears origin "a"
    assert sorted(ran[1:]) == ["chosen", "inside"]  # the third ran both, in either order
    assert set(events.handlers_for(Ping, "a")) == {chosen, other}


def test_only_handlers_refuses_an_unregistered_handler() -> None:
    def stray(event: Ping) -> None: ...

    with (
        pytest.raises(ValueError, match=r"test_isolation\..*stray is not registered; register it"),
        only_handlers(stray),
    ):
        pass


def test_muted_skips_handlers_of_the_event_and_its_subclasses_only() -> None:
    ran: list[str] = []
    events.handle_event(Ping)(lambda event: ran.append("ping"))
    events.handle_event(events.Event)(lambda event: ran.append(f"any {type(event).__name__}"))

    with muted(Ping):
        events.emit_event(Ping)
        events.emit_event(Loud)
        events.emit_event(Pong)
    events.emit_event(Ping)
    assert ran[0] == "any Pong"  # inside the block, only the unmuted event ran handlers
    assert sorted(ran[1:]) == ["any Ping", "ping"]


def test_muted_events_are_still_built_and_captured(captured_events: EventCapture) -> None:
    events.handle_event(Ping)(lambda event: None)
    with muted(Ping):
        ping = events.emit_event(Ping)
    (captured,) = captured_events.emissions
    assert captured.event is ping
    assert captured.handlers == ()


def test_muted_needs_event_types() -> None:
    with pytest.raises(TypeError, match="at least one event type"), muted():
        pass
    with pytest.raises(TypeError, match="takes Event subclasses"), muted(int):  # type: ignore[arg-type]
        pass


def test_the_event_handlers_fixture_applies_for_the_rest_of_the_test(event_handlers: EventHandlers) -> None:
    ran: list[str] = []

    @events.handle_event(Ping)
    def chosen(event: Ping) -> None:
        ran.append("chosen")

    @events.handle_event(Ping)
    def other(event: Ping) -> None:
        ran.append("other")

    events.handle_event(Pong)(lambda event: ran.append("pong"))
    event_handlers.only(chosen)
    event_handlers.mute(Pong)
    events.emit_event(Ping)
    events.emit_event(Pong)
    assert ran == ["chosen"]
    assert [r.handler for r in event_handlers.registrations()] == [chosen]


def test_handlers_from_an_earlier_test_are_gone() -> None:
    # The tests above registered handlers for Ping; the plugin removed them after each.
    assert events.handlers_for(Ping) == ()
