"""Handlers in a module not named ``handlers``: imported only when CANVAS_HANDLER_MODULES names it."""

from __future__ import annotations

from canvas_core import events

from .models import Book


@events.handle_event(events.PostRecordCreate, origin=Book)
def book_received(event: events.PostRecordCreate[Book]) -> None:
    """Does nothing: test_discovery checks that it was registered."""
