"""What happens when a handler fails: a log record, then a ``HandlerFailed`` event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ._adapters import HandlerAdapter
from ._describe import describe_callable, describe_origin
from ._event import Event

__all__ = ["EventNestingError", "HandlerFailed", "describe_origin", "report_failure"]

logger = logging.getLogger("canvas_core.events")


class HandlerFailed(Event):
    """A handler raised an exception while handling :attr:`event`.

    Emitted with ``origin`` set to the failed event's class, so an
    error-reporting integration can listen to every failure
    (``handle_event(HandlerFailed)``) or to one kind of event
    (``handle_event(HandlerFailed, origin=PostRecordUpdate)``). A failure in a
    handler of ``HandlerFailed`` is logged but not reported again.
    """

    event: Event
    """The event whose handler failed, as that handler left it."""
    handler: Callable[..., Any]
    """The handler that raised."""
    exception: Exception
    """What it raised; ``exception.__traceback__`` holds the traceback."""


class EventNestingError(RuntimeError):
    """Emissions nested deeper than :data:`MAX_NESTING_DEPTH`: a handler keeps re-emitting."""

    def __init__(self, event: Event, depth: int, limit: int) -> None:
        super().__init__(
            f"emitting {type(event).__qualname__} inside {depth} nested emissions exceeds the limit "
            f"(canvas_core.events.MAX_NESTING_DEPTH = {limit}): a handler probably emits an event "
            "that leads back to itself"
        )


def report_failure(event: Event, origin: object, handler: Callable[..., Any], exc: Exception) -> None:
    """Log a handler's failure with its traceback, then emit :class:`HandlerFailed`.

    Field values are never logged: events carry personal and secret data.
    """
    handler = log_failure(event, origin, handler, exc)
    if isinstance(event, HandlerFailed):
        return  # a failing reporter is logged, never reported again (no loops)
    from ._dispatch import emit_event

    try:
        emit_event(HandlerFailed, origin=type(event), event=event, handler=handler, exception=exc)
    except Exception:  # e.g. EventNestingError at the depth limit; the failure is already logged
        logger.exception("Could not report the failure of %s as HandlerFailed", describe_callable(handler))


def log_failure(event: Event, origin: object, handler: Callable[..., Any], exc: Exception) -> Callable[..., Any]:
    """Log a handler's failure with its traceback; return the handler as registered (not its adapter)."""
    if isinstance(handler, HandlerAdapter):
        handler = handler.handler
    event_name = type(event).__qualname__
    handler_name = describe_callable(handler)
    logger.error(
        "Handler %s failed while handling %s (origin: %s)",
        handler_name,
        event_name,
        describe_origin(origin),
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"event_type": event_name, "handler": handler_name, "origin": describe_origin(origin)},
    )
    return handler
