"""Instruments: the one interception point for tracing, logging, capturing and test tools.

An :class:`Instrument` sees every emission while it is installed: it may
choose and order the handlers, wrap the whole emission, and wrap each handler
call. OpenTelemetry (:mod:`canvas_core.otel`), the debug log line
(:func:`log_emissions`) and the testing toolkit (:mod:`canvas_core.testing`)
are all instruments; this module imports none of them.

Cost when none is installed: nothing. The dispatcher's hot loop is not
touched; instead, while instruments are installed, every cached plan's
handler tuple is replaced by a single :class:`_InstrumentedRun` that runs the
real handlers through the instruments. Installing or removing an instrument
clears the plan cache, exactly like registering a handler does.
"""

from __future__ import annotations

import logging as _stdlib_logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from types import FrameType

from canvas_core.logging import BoundLogger, get_logger

from ._adapters import ASYNC_RUNS, AsyncHandler, reject_awaitable
from ._describe import describe_origin
from ._dispatch import areport_failure, registry
from ._event import Event
from ._registry import Handler, Registry
from ._reporting import report_failure

__all__ = [
    "Emission",
    "EmissionLog",
    "Instrument",
    "add_instrument",
    "installed_instruments",
    "instrumented",
    "log_emissions",
    "remove_instrument",
]

_NO_SCOPE: AbstractContextManager[None] = nullcontext()


class Emission:
    """One emission, as instruments see it while its handlers run.

    The same object is passed to :meth:`Instrument.emission` and to every
    :meth:`Instrument.handler` call of that emission.
    """

    __slots__ = ("event", "failures", "handlers", "origin")

    def __init__(self, event: Event, origin: object, handlers: tuple[Handler, ...]) -> None:
        self.event = event
        """The event instance; handlers change it in place."""
        self.origin = origin
        """The origin passed to :func:`emit_event`."""
        self.handlers = handlers
        """The handlers that run, in the order they run (after :meth:`Instrument.select_handlers`)."""
        self.failures: list[tuple[Handler, Exception]] = []
        """``(handler, exception)`` for each handler that raised so far, in order."""

    def __repr__(self) -> str:
        return (
            f"<Emission {type(self.event).__qualname__} origin={describe_origin(self.origin)} "
            f"handlers={len(self.handlers)} failures={len(self.failures)}>"
        )


class Instrument:
    """Base class of instruments; override the hooks you need.

    Install one with :func:`add_instrument` (or :func:`instrumented` for a
    block). Hooks left as inherited cost nothing: the dispatcher only calls
    the ones a subclass overrides. Instruments run in installation order; the
    first installed wraps the others.

    Hooks run in the emitting thread, inside :func:`emit_event`. An exception
    escaping a hook is isolated and reported like a handler failure (the
    failed "handler" is then the instrumented run), so the emitter never sees
    it; hooks should still not raise.
    """

    def select_handlers(self, event: Event, origin: object, handlers: tuple[Handler, ...]) -> Sequence[Handler]:
        """Return the handlers to run for this emission, in order (called once per emission).

        ``handlers`` are the matching handlers (as chosen by earlier
        instruments). Return a subset to mute some, or a permutation to
        reorder them.
        """
        return handlers

    def emission(self, emission: Emission) -> AbstractContextManager[object]:
        """Return a context manager that wraps running every handler of ``emission``.

        It is entered after the event was built and the handlers chosen, and
        exited after the last handler (and the reporting of any failure).
        """
        return _NO_SCOPE

    def handler(self, emission: Emission, handler: Handler) -> AbstractContextManager[object]:
        """Return a context manager that wraps one handler call.

        A handler's exception passes through its ``__exit__`` (the failure is
        reported after it); the context manager must not suppress it.
        """
        return _NO_SCOPE


def _call_directly(handler: Handler, event: Event) -> None:
    result = handler(event)
    if result is not None:
        reject_awaitable(result, handler)


def _overrides(instrument: Instrument, hook: str) -> bool:
    return getattr(type(instrument), hook) is not getattr(Instrument, hook)


class _InstrumentedRun:
    """Stands in for a plan's handlers while instruments are installed.

    The dispatcher calls it as if it were the only handler; it runs the real
    handlers through the instruments and isolates their failures itself.
    """

    __slots__ = ("emission_hooks", "handler_hooks", "handlers", "origin", "selectors")

    def __init__(self, origin: object, handlers: tuple[Handler, ...], instruments: Sequence[Instrument]) -> None:
        self.origin = origin
        self.handlers = handlers
        self.selectors = tuple(i for i in instruments if _overrides(i, "select_handlers"))
        self.emission_hooks = tuple(i for i in instruments if _overrides(i, "emission"))
        self.handler_hooks = tuple(i for i in instruments if _overrides(i, "handler"))

    def __call__(self, event: Event) -> None:
        self.run_through(_call_directly, event)

    def run_through(self, call_handler: Callable[[Handler, Event], object], event: Event) -> None:
        """Run the handlers, each as ``call_handler(handler, event)`` (see ``emit_guarded``)."""
        emission = self._emission(event)
        hooks = self.emission_hooks
        if not hooks:
            self._run(emission, call_handler)
        elif len(hooks) == 1:  # the common case, without an ExitStack
            with hooks[0].emission(emission):
                self._run(emission, call_handler)
        else:
            with ExitStack() as scopes:
                for instrument in hooks:
                    scopes.enter_context(instrument.emission(emission))
                self._run(emission, call_handler)

    async def arun(self, event: Event) -> None:
        """The same run under :func:`aemit_event`: ``async def`` handlers are awaited.

        Instruments' context managers are synchronous; they are entered and
        exited in the emitting task, around the awaits.
        """
        emission = self._emission(event)
        with ExitStack() as scopes:
            for instrument in self.emission_hooks:
                scopes.enter_context(instrument.emission(emission))
            hooks = self.handler_hooks
            for handler in emission.handlers:
                try:
                    with ExitStack() as handler_scopes:
                        for instrument in hooks:
                            handler_scopes.enter_context(instrument.handler(emission, handler))
                        kind = type(handler)
                        if kind is AsyncHandler:
                            await handler.handler(event)  # type: ignore[attr-defined]
                        elif kind in ASYNC_RUNS:
                            await handler.arun(event)  # type: ignore[attr-defined]
                        else:
                            _call_directly(handler, event)
                except Exception as exc:
                    emission.failures.append((handler, exc))
                    await areport_failure(event, self.origin, handler, exc)

    def _emission(self, event: Event) -> Emission:
        origin = self.origin
        handlers = self.handlers
        for selector in self.selectors:
            handlers = tuple(selector.select_handlers(event, origin, handlers))
        return Emission(event, origin, handlers)

    def _run(self, emission: Emission, call_handler: Callable[[Handler, Event], object]) -> None:
        event = emission.event
        hooks = self.handler_hooks
        for handler in emission.handlers:
            try:
                if not hooks:
                    call_handler(handler, event)
                elif len(hooks) == 1:
                    with hooks[0].handler(emission, handler):
                        call_handler(handler, event)
                else:
                    with ExitStack() as scopes:
                        for instrument in hooks:
                            scopes.enter_context(instrument.handler(emission, handler))
                        call_handler(handler, event)
            except Exception as exc:  # isolate, as the plain dispatcher does
                emission.failures.append((handler, exc))
                report_failure(event, self.origin, handler, exc)


ASYNC_RUNS.add(_InstrumentedRun)


class _Instruments:
    """The installed instruments, and keeping the registry's plans in step with them."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._lock = threading.Lock()
        self.installed: tuple[Instrument, ...] = ()

    def add(self, instrument: Instrument) -> None:
        if not isinstance(instrument, Instrument):
            raise TypeError(
                f"add_instrument() needs a canvas_core.events.Instrument, got {instrument!r}; "
                "subclass Instrument and override the hooks you need"
            )
        with self._lock:
            if instrument in self.installed:
                return
            self._set((*self.installed, instrument))

    def remove(self, instrument: Instrument) -> bool:
        with self._lock:
            if instrument not in self.installed:
                return False
            self._set(tuple(i for i in self.installed if i is not instrument))
            return True

    def _set(self, installed: tuple[Instrument, ...]) -> None:
        self.installed = installed
        wrap: Callable[[object, tuple[Handler, ...]], tuple[Handler, ...]] | None = None
        if installed:

            def wrap(origin: object, handlers: tuple[Handler, ...]) -> tuple[Handler, ...]:
                return (_InstrumentedRun(origin, handlers, installed),)

        self._registry.set_plan_wrapper(wrap)


_instruments = _Instruments(registry)


def add_instrument(instrument: Instrument) -> None:
    """Install ``instrument`` for every emission in the process, until :func:`remove_instrument`.

    Installing the same instrument twice does nothing. Emissions already
    running keep the instruments they started with.
    """
    _instruments.add(instrument)


def remove_instrument(instrument: Instrument) -> bool:
    """Uninstall ``instrument``; return whether it was installed."""
    return _instruments.remove(instrument)


def installed_instruments() -> tuple[Instrument, ...]:
    """The installed instruments, in installation order (outermost first)."""
    return _instruments.installed


@contextmanager
def instrumented(*instruments: Instrument) -> Iterator[None]:
    """Install ``instruments`` for the ``with`` block, then remove them (those installed by it)."""
    added = [i for i in instruments if i not in installed_instruments()]
    for instrument in instruments:
        add_instrument(instrument)
    try:
        yield
    finally:
        for instrument in added:
            remove_instrument(instrument)


# -- the debug log line ---------------------------------------------------------

EMISSION_LOGGER_NAME = "canvas_core.events.emissions"


class EmissionLog(Instrument):
    """Logs one DEBUG line per emission on ``canvas_core.events.emissions``.

    The line is ``Event emitted.`` with the fields ``event_type``, ``origin``,
    ``handlers`` (how many ran), ``failed`` (how many raised) and
    ``duration_ms`` (running the handlers). It is written only while that
    logger is enabled for DEBUG, a check the standard library caches.
    """

    def __init__(self) -> None:
        self._stdlib_logger = _stdlib_logging.getLogger(EMISSION_LOGGER_NAME)
        self._logger = get_logger(EMISSION_LOGGER_NAME)

    def emission(self, emission: Emission) -> AbstractContextManager[object]:
        if not self._stdlib_logger.isEnabledFor(_stdlib_logging.DEBUG):
            return _NO_SCOPE
        return _LoggedEmission(self._logger, emission)


class _LoggedEmission:
    __slots__ = ("_emission", "_logger", "_start")

    def __init__(self, logger: BoundLogger, emission: Emission) -> None:
        self._logger = logger
        self._emission = emission

    def __enter__(self) -> None:
        self._start = time.perf_counter_ns()

    def __exit__(self, *exc_info: object) -> None:
        duration_ms = (time.perf_counter_ns() - self._start) / 1e6
        emission = self._emission
        self._logger.debug(
            "Event emitted.",
            event_type=type(emission.event).__qualname__,
            origin=describe_origin(emission.origin),
            handlers=len(emission.handlers),
            failed=len(emission.failures),
            duration_ms=round(duration_ms, 3),
            stacklevel=_frames_to_emitter(sys._getframe()),
        )


def _frames_to_emitter(frame: FrameType) -> int:
    """How many frames up from ``frame`` the code that called :func:`emit_event` is.

    Log records of emissions point at the emitting line rather than at the
    bus's internals (found by walking the stack: only done when DEBUG is on).
    """
    skipped = 0
    current: FrameType | None = frame
    while current is not None and current.f_globals.get("__name__", "").startswith(_INTERNAL_MODULES):
        current = current.f_back
        skipped += 1
    return skipped + 1  # and the frame of the structured logger call


_INTERNAL_MODULES = ("canvas_core.events.", "contextlib")


_emission_log = EmissionLog()


def log_emissions(enabled: bool = True) -> None:
    """Turn the per-emission DEBUG log line on (or, with ``False``, off).

    Explicit on purpose: learning that someone set DEBUG on the logger would
    mean asking :mod:`logging` on every emission, which every emission in
    production would pay. Once on, the line is still written only while
    ``canvas_core.events.emissions`` is enabled for DEBUG.
    """
    if enabled:
        add_instrument(_emission_log)
    else:
        remove_instrument(_emission_log)
