"""A typed, in-process event bus.

Define an event, handle it, emit it::

    from canvas_core import events

    class BeforeMessageSend(events.Event):
        message: str

    @events.handle_event(BeforeMessageSend)
    def add_watermark(event: BeforeMessageSend) -> None:
        event.message = f"{event.message} (sent from Canvas)"

    sent = events.emit_event(BeforeMessageSend, message="Hello, world!")
    assert sent.message == "Hello, world! (sent from Canvas)"

This package imports no web framework; the Django integration lives in
:mod:`canvas_core.django`.
"""

from ._adapters import AsyncHandlerError
from ._dispatch import (
    MAX_NESTING_DEPTH,
    aemit_event,
    emit_event,
    handle_event,
    handlers_for,
    registrations,
    remove_handler,
)
from ._event import Event, EventValidationError
from ._records import (
    PostRecordCreate,
    PostRecordDelete,
    PostRecordUpdate,
    PreRecordCreate,
    PreRecordDelete,
    PreRecordUpdate,
    RecordEvent,
)
from ._registry import Registration
from ._reporting import EventNestingError, HandlerFailed

__all__ = [
    "MAX_NESTING_DEPTH",
    "AsyncHandlerError",
    "Event",
    "EventNestingError",
    "EventValidationError",
    "HandlerFailed",
    "PostRecordCreate",
    "PostRecordDelete",
    "PostRecordUpdate",
    "PreRecordCreate",
    "PreRecordDelete",
    "PreRecordUpdate",
    "RecordEvent",
    "Registration",
    "aemit_event",
    "emit_event",
    "handle_event",
    "handlers_for",
    "registrations",
    "remove_handler",
]
