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

To see what the bus does: :func:`registrations` and :func:`registrations_for`
list who handles what and where it is defined; an :class:`Instrument`
(installed with :func:`add_instrument`) sees every emission, which is how
:mod:`canvas_core.otel`, :func:`log_emissions` and :mod:`canvas_core.testing`
work. Nothing is instrumented until asked, and uninstrumented emission pays
nothing for it.
"""

from ._adapters import AsyncHandlerError
from ._context import EmissionContext, context, current_context
from ._dispatch import (
    MAX_NESTING_DEPTH,
    aemit_event,
    emit_event,
    handle_event,
    handlers_for,
    registrations,
    registrations_for,
    remove_handler,
)
from ._event import Event, EventValidationError
from ._instruments import (
    Emission,
    EmissionLog,
    Instrument,
    add_instrument,
    installed_instruments,
    instrumented,
    log_emissions,
    remove_instrument,
)
from ._records import (
    PostRecordCreate,
    PostRecordDelete,
    PostRecordUpdate,
    PreRecordCreate,
    PreRecordDelete,
    PreRecordUpdate,
    RecordEvent,
)
from ._registry import Registration, SourceLocation, handler_source
from ._reporting import EventNestingError, HandlerFailed

__all__ = [
    "MAX_NESTING_DEPTH",
    "AsyncHandlerError",
    "Emission",
    "EmissionContext",
    "EmissionLog",
    "Event",
    "EventNestingError",
    "EventValidationError",
    "HandlerFailed",
    "Instrument",
    "PostRecordCreate",
    "PostRecordDelete",
    "PostRecordUpdate",
    "PreRecordCreate",
    "PreRecordDelete",
    "PreRecordUpdate",
    "RecordEvent",
    "Registration",
    "SourceLocation",
    "add_instrument",
    "aemit_event",
    "context",
    "current_context",
    "emit_event",
    "handle_event",
    "handler_source",
    "handlers_for",
    "installed_instruments",
    "instrumented",
    "log_emissions",
    "registrations",
    "registrations_for",
    "remove_handler",
    "remove_instrument",
]
