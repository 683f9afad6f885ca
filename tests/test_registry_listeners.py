"""The registry tells its listeners about every change of registrations (and only then)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canvas_core import events
from canvas_core.events._dispatch import registry


class Ping(events.Event):
    pass


@pytest.fixture
def calls() -> Iterator[list[int]]:
    seen: list[int] = []

    def listener() -> None:
        seen.append(len(registry.registrations()))

    registry.listeners.append(listener)
    yield seen
    registry.listeners.remove(listener)


def test_listeners_hear_add_remove_and_clear(calls: list[int]) -> None:
    before = len(registry.registrations())

    def handler(event: Ping) -> None: ...

    events.handle_event(Ping)(handler)
    events.handle_event(Ping)(handler)  # already registered: no change
    assert events.remove_handler(handler) == 1
    assert events.remove_handler(handler) == 0  # nothing removed: no change
    registry.clear()
    assert calls == [before + 1, before, 0]


def test_listeners_run_after_the_change_is_visible(calls: list[int]) -> None:
    seen_handlers: list[int] = []

    def handler(event: Ping) -> None: ...

    def listener() -> None:
        seen_handlers.append(len(events.handlers_for(Ping)))

    registry.listeners.append(listener)
    try:
        events.handle_event(Ping)(handler)
    finally:
        registry.listeners.remove(listener)
    assert seen_handlers == [1]


def test_listeners_run_when_a_snapshot_is_restored(calls: list[int]) -> None:
    snapshot = registry.snapshot()

    def handler(event: Ping) -> None: ...

    events.handle_event(Ping)(handler)
    before = len(calls)
    assert registry.restore(snapshot) is True
    assert len(calls) == before + 1
    assert registry.restore(snapshot) is False  # nothing changed: no call
    assert len(calls) == before + 1
