"""Emitting events and registering handlers: the public verbs and the hot loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Hashable, Iterable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError

from ._adapters import ASYNC_RUNS, AsyncHandler, reject_awaitable
from ._describe import describe_callable
from ._event import Event, EventValidationError
from ._registry import FreePlan, Handler, Registration, Registry, check_fields, check_target
from ._reporting import EventNestingError, HandlerFailed, log_failure, logger, report_failure

__all__ = [
    "MAX_NESTING_DEPTH",
    "aemit_event",
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
_plans = registry.plans  # never rebound, only cleared: safe to keep references
_free = registry.free


class _Nesting(threading.local):
    """How deeply emissions are nested in this thread.

    A one-item list rather than an int attribute: item access is much cheaper
    than setting an attribute of a thread-local, and this runs per emission.
    """

    def __init__(self) -> None:
        self.depth = [0]


_nesting = _Nesting()

# aemit_event's nesting depth, per task: tasks sharing a thread interleave, so
# a thread-local count would add up unrelated emissions.
_async_depth: ContextVar[int] = ContextVar("canvas_core_async_depth", default=0)


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

    ``async def`` handlers run to completion on a fresh event loop, unless a
    loop is already running in this thread: then they are not started and
    :class:`AsyncHandlerError` is reported as their failure (use
    :func:`aemit_event` in async code). Background handlers run after all the
    others and only enqueue their work.
    """
    if args:
        raise TypeError(
            f"emit_event() takes the event's fields as keyword arguments only; "
            f"got {len(args)} extra positional argument(s) for {getattr(event_type, '__qualname__', event_type)}"
        )
    try:  # Registry.lookup, inlined (.get, not [...]: a KeyError would cost more than the lookup)
        plan = _plans.get((event_type, origin))  # type: ignore[arg-type]
        if plan is None:  # no plan of its own: is it an origin no registration is scoped to?
            free: FreePlan | None = _free.get(event_type)  # type: ignore[call-overload]
            if free is not None and origin not in free[1] and not (free[2] and isinstance(origin, type)):
                plan = free[0]
    except Exception:  # an origin that cannot be hashed
        plan = None
    if plan is None:
        plan = registry.plan(event_type, origin)  # type: ignore[arg-type]
    build, handlers = plan
    try:
        event = build(fields)
    except ValidationError as exc:
        raise EventValidationError(event_type, exc) from None  # type: ignore[arg-type]
    if handlers is None:  # a generic event, parametrized from its fields while being built
        handlers = registry.cached_handlers(type(event), origin)
    if not handlers:
        return event  # type: ignore[return-value]

    depth = _nesting.depth
    level = depth[0]
    if level >= MAX_NESTING_DEPTH and _too_deep(event, level):
        raise EventNestingError(event, level, MAX_NESTING_DEPTH)
    depth[0] = level + 1
    try:
        for handler in handlers:
            try:
                result = handler(event)
                if result is not None:  # a sync handler returning a coroutine is a failure, not a warning
                    reject_awaitable(result, handler)
            except Exception as exc:  # isolate; BaseException (KeyboardInterrupt...) propagates
                report_failure(event, origin, handler, exc)
    finally:
        depth[0] = level
    return event  # type: ignore[return-value]


async def aemit_event(event_type: Callable[P, E], /, origin: object = None, *args: P.args, **fields: P.kwargs) -> E:
    """Build an event, run every matching handler, awaiting ``async def`` ones, and return the event.

    The rules of :func:`emit_event` hold: same validation, matching, error
    isolation and reporting (reporting through ``aemit_event``, so async
    :class:`HandlerFailed` handlers run too), and the event is returned once
    every handler has finished. Handlers run one after another, never
    concurrently, so handlers that change the event do not race. Synchronous
    handlers are called directly, on the event loop's thread: keep them short.
    Nesting depth is counted per task.
    """
    if args:
        raise TypeError(
            f"aemit_event() takes the event's fields as keyword arguments only; "
            f"got {len(args)} extra positional argument(s) for {getattr(event_type, '__qualname__', event_type)}"
        )
    # The steps of _build_and_plan, inlined as in emit_event: this is a hot path too.
    try:
        plan = _plans.get((event_type, origin))  # type: ignore[arg-type]
        if plan is None:  # no plan of its own: is it an origin no registration is scoped to?
            free: FreePlan | None = _free.get(event_type)  # type: ignore[call-overload]
            if free is not None and origin not in free[1] and not (free[2] and isinstance(origin, type)):
                plan = free[0]
    except Exception:  # an origin that cannot be hashed
        plan = None
    if plan is None:
        plan = registry.plan(event_type, origin)  # type: ignore[arg-type]
    build, handlers = plan
    try:
        event = build(fields)
    except ValidationError as exc:
        raise EventValidationError(event_type, exc) from None  # type: ignore[arg-type]
    if handlers is None:
        handlers = registry.cached_handlers(type(event), origin)
    if not handlers:
        return event  # type: ignore[return-value]

    level = _async_depth.get()
    if level >= MAX_NESTING_DEPTH and _too_deep(event, level):
        raise EventNestingError(event, level, MAX_NESTING_DEPTH)
    only = handlers[0]
    if type(only) is AsyncHandler and len(handlers) == 1:  # the usual async case, without the loop's checks
        raised = _async_depth.set(level + 1)
        try:
            await only.handler(event)
        except Exception as exc:
            await areport_failure(event, origin, only, exc)
        finally:
            _async_depth.reset(raised)
        return event  # type: ignore[return-value]
    # The depth is raised only before the first await (an async handler, a
    # failure report): only then can a nested aemit_event run in this task,
    # and an emission whose handlers are all synchronous skips the cost.
    token = None
    try:
        for handler in handlers:
            try:
                kind = type(handler)
                if kind is AsyncHandler:
                    if token is None:
                        token = _async_depth.set(level + 1)
                    await handler.handler(event)  # type: ignore[attr-defined]
                elif kind in ASYNC_RUNS:  # instruments are installed: their run awaits async handlers
                    if token is None:
                        token = _async_depth.set(level + 1)
                    await handler.arun(event)  # type: ignore[attr-defined]
                else:
                    result = handler(event)
                    if result is not None:
                        reject_awaitable(result, handler)
            except Exception as exc:
                if token is None:
                    token = _async_depth.set(level + 1)
                await areport_failure(event, origin, handler, exc)
    finally:
        if token is not None:
            _async_depth.reset(token)
    return event  # type: ignore[return-value]


async def areport_failure(event: Event, origin: object, handler: Callable[..., Any], exc: Exception) -> None:
    handler = log_failure(event, origin, handler, exc)
    if isinstance(event, HandlerFailed):
        return
    try:
        await aemit_event(HandlerFailed, origin=type(event), event=event, handler=handler, exception=exc)
    except Exception:  # e.g. EventNestingError at the depth limit; the failure is already logged
        logger.exception("Could not report the failure of %s as HandlerFailed", describe_callable(handler))


def _build_and_plan(
    event_type: type[Event], origin: object, fields: dict[str, Any]
) -> tuple[Event, tuple[Handler, ...]]:
    """The first half of an emission: the built event and the handlers to run.

    :func:`emit_event` inlines the same steps, because it is the hot path.
    """
    build, handlers = registry.lookup(event_type, origin)
    try:
        event = build(fields)
    except ValidationError as exc:
        raise EventValidationError(event_type, exc) from None
    if handlers is None:
        handlers = registry.cached_handlers(type(event), origin)
    return event, handlers


def emit_guarded(
    call_handler: Callable[[Handler, Event], object], event_type: type[E], origin: object, fields: dict[str, Any]
) -> E:
    """Emit like :func:`emit_event`, calling each handler as ``call_handler(handler, event)``.

    For integrations that must wrap every handler call, such as the Django one
    running each handler behind a savepoint inside ``atomic()``.
    ``call_handler`` raises what the handler raised (after its own clean-up);
    failures are then isolated and reported exactly as by :func:`emit_event`.
    """
    event, handlers = _build_and_plan(event_type, origin, fields)
    if handlers:
        _call_guarded(call_handler, event, origin, _with_instruments(handlers))
    return event  # type: ignore[return-value]


def emit_guarded_each(
    call_handler: Callable[[Handler, Event], object],
    event_type: type[Event],
    origin: object,
    each_fields: Iterable[dict[str, Any]],
    invalid: Callable[[EventValidationError], object],
) -> None:
    """:func:`emit_guarded` for each item of ``each_fields`` in turn: one write of many records, say.

    The handlers are looked up once, before the first event (like one
    emission, the batch runs the handlers it started with). An event whose
    fields do not validate is passed to ``invalid`` and the others go on.
    """
    build, handlers = registry.lookup(event_type, origin)
    if handlers is None:  # a generic event, parametrized per event from its fields
        for fields in each_fields:
            try:
                emit_guarded(call_handler, event_type, origin, fields)
            except EventValidationError as exc:
                invalid(exc)
        return
    if not handlers:
        return  # nobody would see the events: none is built
    runs = _with_instruments(handlers)
    for fields in each_fields:
        try:
            event = build(fields)
        except ValidationError as exc:
            invalid(EventValidationError(event_type, exc))
            continue
        except EventValidationError as exc:
            invalid(exc)
            continue
        _call_guarded(call_handler, event, origin, runs)


def _with_instruments(handlers: tuple[Handler, ...]) -> list[tuple[Handler, Callable[..., None] | None]]:
    # A handler wrapped by instruments runs through them: ``run_through(call_handler, event)``.
    return [(handler, getattr(handler, "run_through", None)) for handler in handlers]


def _call_guarded(
    call_handler: Callable[[Handler, Event], object],
    event: Event,
    origin: object,
    runs: list[tuple[Handler, Callable[..., None] | None]],
) -> None:
    """Call each handler of ``runs`` (with its instruments' ``run_through``, if any) for ``event``, one level deeper."""
    depth = _nesting.depth
    level = depth[0]
    if level >= MAX_NESTING_DEPTH and _too_deep(event, level):
        raise EventNestingError(event, level, MAX_NESTING_DEPTH)
    depth[0] = level + 1
    try:
        for handler, run_through in runs:
            try:
                if run_through is not None:  # instruments are installed: they call each handler
                    run_through(call_handler, event)
                else:
                    call_handler(handler, event)
            except Exception as exc:
                report_failure(event, origin, handler, exc)
    finally:
        depth[0] = level


def _too_deep(event: Event, level: int) -> bool:
    # Reporting a failure at the limit (often the nesting error itself) gets a
    # little headroom, so that the failure still reaches error reporting.
    if isinstance(event, HandlerFailed):
        return level >= MAX_NESTING_DEPTH + 2
    return True


def handle_event(
    event_type: type[E],
    origin: Hashable | None = None,
    *,
    background: bool = False,
    fields: Collection[str] | None = None,
) -> Callable[[Callable[[E], R]], Callable[[E], R]]:
    """Register the decorated function as a handler of ``event_type``; return it unchanged.

    The handler receives every emitted ``event_type``, subclasses included (a
    handler of :class:`Event` receives everything). With ``origin``, it
    receives only emissions whose origin equals it or, for a class, is a
    subclass of it. Registering the same function for the same type and
    origin again does nothing.

    Handlers are held by strong reference and stay registered until
    :func:`remove_handler`; their order of execution is unspecified.
    ``async def`` handlers are awaited by :func:`aemit_event` (see
    :func:`emit_event` for what it does with them).

    With ``background=True`` the emitter only enqueues the handler, after the
    other handlers ran (and, for record events, after the transaction
    commits); it then runs on a worker with a copy of the event (see
    :mod:`canvas_core.background`). The handler must be a module-level
    function and the event serializable; otherwise this raises
    :class:`TypeError` at decoration time.

    With ``fields`` (update events only), the handler runs only for events
    whose ``diff`` names one of those fields:
    ``handle_event(PostRecordUpdate, origin=Setting, fields={"value"})``.
    Names that are not fields of the origin model raise :class:`TypeError`
    here (for origins an integration knows, such as Django models).

    Raises :class:`TypeError` at decoration time for a non-event type, an
    unhashable origin, a function that cannot take the event as its only
    positional argument, or a generator function.
    """
    filtered: object = None
    if fields is not None:
        filtered = fields if isinstance(fields, str) else frozenset(fields)  # a str is refused by check_fields

    def register(handler: Callable[[E], R]) -> Callable[[E], R]:
        registry.add(event_type, origin, handler, background=background, fields=filtered)  # type: ignore[arg-type]
        return handler

    check_target(event_type, origin)  # fail at the call, before any function is decorated
    if filtered is not None:
        check_fields(event_type, origin, filtered, registry.field_names)
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
    """Every current registration, as :class:`Registration` named tuples ``(event_type, origin, handler)``.

    A snapshot: later registrations and removals do not change the returned
    list. A handler registered for several event types or origins appears once
    for each. Each entry also tells the handler's name (``handler_name``) and
    where it is defined (``source``, ``file:line``); ``canvas-events handlers``
    prints this list.
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

    Applies the same matching as :func:`emit_event` (subclasses of the handled
    type, origins equal or, for classes, subclasses), without building an event
    or running anything. The order means nothing: execution order is
    unspecified (and shuffled under the pytest plugin's ``--canvas-shuffle``).
    Muting and other instruments are not applied here.
    """
    return registry.handlers_for(event_type, origin)
