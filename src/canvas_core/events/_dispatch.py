"""Emitting events and registering handlers: the public verbs and the hot loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError

from ._event import Event, EventValidationError
from ._registry import Registration, Registry, check_target
from ._reporting import EventNestingError, HandlerFailed, report_failure

__all__ = [
    "MAX_NESTING_DEPTH",
    "emit_event",
    "handle_event",
    "handlers_for",
    "registrations",
    "registrations_for",
    "remove_handler",
]

P = ParamSpec("P")
E = TypeVar("E", bound=Event)
R = TypeVar("R")

MAX_NESTING_DEPTH = 64
"""How deeply emissions may nest (a handler emitting, whose handler emits, ...).

An emission beyond it raises :class:`EventNestingError` in the handler that
attempted it, which is then isolated and reported like any handler failure.
"""

registry = Registry()
_plans = registry.plans  # never rebound, only cleared: safe to keep a reference


class _EmissionStack(threading.local):
    """The events being dispatched in this thread, outermost first."""

    def __init__(self) -> None:
        self.events: list[Event] = []


_stack = _EmissionStack()


def emit_event(event_type: Callable[P, E], /, origin: object = None, *args: P.args, **fields: P.kwargs) -> E:
    """Build an event, run every matching handler, and return the event.

    ``fields`` are validated into ``event_type``; bad fields raise
    :class:`EventValidationError` (a :class:`TypeError`) before any handler
    runs. Handlers run synchronously, in no guaranteed order, each at most once.
    They receive the same instance and may change it; the emitter reads their
    changes off the returned event.

    ``origin`` says where the event comes from. Handlers registered with an
    origin run only for emissions from an equal origin (or, for classes, a
    subclass); handlers registered without one run for every emission.

    An :class:`Exception` raised by a handler is logged on the
    ``canvas_core.events`` logger, reported as a :class:`HandlerFailed` event,
    and does not stop the other handlers or reach the caller.
    """
    if args:
        raise TypeError(
            f"emit_event() takes the event's fields as keyword arguments only; "
            f"got {len(args)} extra positional argument(s) for {getattr(event_type, '__qualname__', event_type)}"
        )
    try:
        build, handlers = _plans[event_type, origin]  # type: ignore[index]
    except (KeyError, TypeError):  # a miss, or an unhashable origin
        build, handlers = registry.plan(event_type, origin)  # type: ignore[arg-type]
    try:
        event = build(fields)
    except ValidationError as exc:
        raise EventValidationError(event_type, exc) from None  # type: ignore[arg-type]
    if handlers is None:  # a generic event, parametrized from its fields while being built
        handlers = registry.cached_handlers(type(event), origin)
    if not handlers:
        return event  # type: ignore[return-value]

    stack = _stack.events
    if len(stack) >= MAX_NESTING_DEPTH and _too_deep(event, stack):
        raise EventNestingError(event, stack)
    stack.append(event)
    try:
        for handler in handlers:
            try:
                handler(event)
            except Exception as exc:  # isolate; BaseException (KeyboardInterrupt...) propagates
                report_failure(event, origin, handler, exc)
    finally:
        stack.pop()
    return event  # type: ignore[return-value]


def _too_deep(event: Event, stack: list[Event]) -> bool:
    # Reporting a failure at the limit (often the nesting error itself) gets a
    # little headroom, so that the failure still reaches error reporting.
    if isinstance(event, HandlerFailed):
        return len(stack) >= MAX_NESTING_DEPTH + 2
    return True


def handle_event(event_type: type[E], origin: Hashable | None = None) -> Callable[[Callable[[E], R]], Callable[[E], R]]:
    """Register the decorated function as a handler of ``event_type``; return it unchanged.

    The handler receives every emitted ``event_type``, subclasses included (a
    handler of :class:`Event` receives everything). With ``origin``, it
    receives only emissions whose origin equals it or, for a class, is a
    subclass of it. Registering the same function for the same type and
    origin again does nothing.

    Handlers are held by strong reference and stay registered until
    :func:`remove_handler`; their order of execution is unspecified.

    Raises :class:`TypeError` at decoration time for a non-event type, an
    unhashable origin, or a function that cannot take the event as its only
    positional argument.
    """

    def register(handler: Callable[[E], R]) -> Callable[[E], R]:
        registry.add(event_type, origin, handler)
        return handler

    check_target(event_type, origin)  # fail at the call, before any function is decorated
    return register


def remove_handler(
    handler: Callable[..., object],
    event_type: type[Event] | None = None,
    origin: Hashable | None = None,
) -> int:
    """Unregister ``handler`` and return how many registrations were removed.

    Without ``event_type``, every registration of ``handler`` goes. With it,
    only the registration for exactly that type and ``origin``. An emission
    already running still calls the handlers it started with.
    """
    return registry.remove(handler, event_type, origin)


def registrations() -> list[Registration]:
    """Every current registration, oldest first per event type and origin.

    Each is a :class:`Registration` that unpacks as ``(event_type, origin,
    handler)`` and also tells the handler's name (``handler_name``) and where it
    is defined (``source``, ``file:line``). A function registered for two
    types appears twice.
    """
    return registry.registrations()


def registrations_for(event_type: type[Event], origin: object = None) -> list[Registration]:
    """The registrations an emission of ``event_type`` from ``origin`` would reach now.

    Unlike :func:`handlers_for`, a handler registered several ways that all
    match (for a base class and for a subclass, say) appears once per
    registration, with the type and origin it was registered for.
    """
    return registry.registrations_for(event_type, origin)


def handlers_for(event_type: type[Event], origin: object = None) -> tuple[Callable[[Any], object], ...]:
    """The distinct handlers an emission of ``event_type`` from ``origin`` would run now.

    Their order means nothing: emission order is unspecified (and shuffled
    under the pytest plugin's ``--canvas-shuffle``). Muting and other
    instruments are not applied here.
    """
    return registry.handlers_for(event_type, origin)
