"""Making handler failures visible in tests, where isolation would otherwise hide them."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from canvas_core.events import Emission, Event, Instrument, instrumented
from canvas_core.events._describe import describe_callable
from canvas_core.events._reporting import describe_origin

__all__ = ["HandlerFailure", "HandlerFailureRecorder", "HandlerFailuresError", "raise_handler_failures"]


@dataclass(frozen=True)
class HandlerFailure:
    """A handler that raised, and what it was handling."""

    event: Event
    origin: object
    handler: Callable[[Any], object]
    exception: Exception

    def describe(self) -> str:
        return (
            f"{describe_callable(self.handler)} raised {type(self.exception).__qualname__}: {self.exception} "
            f"while handling {type(self.event).__qualname__} (origin: {describe_origin(self.origin)})"
        )


class HandlerFailuresError(AssertionError):
    """Handlers failed where the test said none may (see :func:`raise_handler_failures`)."""

    def __init__(self, failures: list[HandlerFailure]) -> None:
        self.failures = failures
        super().__init__(explain_failures(failures))


def explain_failures(failures: list[HandlerFailure]) -> str:
    """A report of ``failures`` with each traceback, for a failing test."""
    lines = [f"{len(failures)} event handler(s) failed; the emitter carried on, but this check does not:"]
    for number, failure in enumerate(failures, 1):
        lines.append(f"\n{number}. {failure.describe()}")
        exc = failure.exception
        lines.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
    return "\n".join(lines)


class HandlerFailureRecorder(Instrument):
    """An instrument that records every handler failure while installed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[HandlerFailure] = []

    @property
    def failures(self) -> list[HandlerFailure]:
        with self._lock:
            return list(self._failures)

    def emission(self, emission: Emission) -> AbstractContextManager[object]:
        return self._recording(emission)

    @contextmanager
    def _recording(self, emission: Emission) -> Iterator[None]:
        try:
            yield
        finally:
            if emission.failures:
                with self._lock:
                    self._failures.extend(
                        HandlerFailure(emission.event, emission.origin, handler, exc)
                        for handler, exc in emission.failures
                    )


@contextmanager
def raise_handler_failures() -> Iterator[HandlerFailureRecorder]:
    """Raise :class:`HandlerFailuresError` at the end of the block if any handler failed in it.

    Handlers still fail in isolation inside the block (the emitter carries
    on); the error comes when the block ends, with each failure's traceback.
    """
    recorder = HandlerFailureRecorder()
    with instrumented(recorder):
        yield recorder
    if recorder.failures:
        raise HandlerFailuresError(recorder.failures)
