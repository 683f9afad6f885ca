"""Imported at startup by canvas_core's AppConfig, like every installed app's ``handlers`` module."""

from __future__ import annotations

from canvas_core import events


class TestappHandlersLoaded(events.Event):
    """Emitted by the tests to check that this module's handler was registered at startup."""

    answered: bool = False


@events.handle_event(TestappHandlersLoaded)
def answer(event: TestappHandlersLoaded) -> None:
    event.answered = True
