"""Capturing emissions and asserting on them."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from canvas_core.events import Emission, Event, Instrument, instrumented
from canvas_core.events._describe import describe_callable
from canvas_core.events._generics import event_type_matches
from canvas_core.events._reporting import describe_origin

__all__ = ["ANY_ORIGIN", "CapturedEmission", "EventCapture", "capture_events"]

E = TypeVar("E", bound=Event)


class _AnyOrigin:
    def __repr__(self) -> str:
        return "ANY_ORIGIN"


ANY_ORIGIN: Final[Any] = _AnyOrigin()
"""The default ``origin`` of the capture helpers: emissions from any origin (or none)."""


@dataclass(frozen=True)
class CapturedEmission:
    """One captured emission."""

    event: Event
    """The instance itself, as the handlers left it (later changes to it show here too)."""
    origin: object
    """The origin it was emitted with."""
    handlers: tuple[Callable[[Any], object], ...]
    """The handlers that ran, in the order they ran."""
    failures: list[tuple[Callable[[Any], object], Exception]] = field(default_factory=list)
    """``(handler, exception)`` for each handler that raised."""

    @property
    def event_type(self) -> type[Event]:
        """The emitted class (for a generic event, its parametrized class)."""
        return type(self.event)

    def describe(self) -> str:
        """``Type (origin: ...)``, without field values."""
        return f"{self.event_type.__qualname__} (origin: {describe_origin(self.origin)})"


def _origin_is(expected: object, actual: object) -> bool:
    if expected is ANY_ORIGIN:
        return True
    if expected is None:
        return actual is None
    if isinstance(expected, type) and isinstance(actual, type):
        return issubclass(actual, expected)
    try:
        return bool(expected == actual)
    except Exception:
        return False


class EventCapture(Instrument):
    """Records every emission while installed (see :func:`capture_events`).

    Emissions are recorded in the order they started; an emission made by a
    handler comes after the one that ran the handler. Only events that were
    built are recorded: an emission rejected by validation never happened.

    The query methods take an event type that matches as a handler's would:
    subclasses count, and ``PostRecordUpdate[Setting]`` matches updates of
    ``Setting`` subclasses. ``origin`` matches an equal origin or, for a
    class, a subclass; ``None`` means emitted without an origin; left out it
    means any origin. ``where`` is a predicate on the event.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._emissions: list[CapturedEmission] = []

    # -- Instrument ---------------------------------------------------------

    def emission(self, emission: Emission) -> AbstractContextManager[object]:
        captured = CapturedEmission(emission.event, emission.origin, emission.handlers, emission.failures)
        with self._lock:
            self._emissions.append(captured)
        return super().emission(emission)

    # -- queries --------------------------------------------------------------

    @property
    def emissions(self) -> list[CapturedEmission]:
        """Every captured emission, in order."""
        with self._lock:
            return list(self._emissions)

    def __len__(self) -> int:
        return len(self._emissions)

    def __iter__(self) -> Iterator[CapturedEmission]:
        return iter(self.emissions)

    def clear(self) -> None:
        """Forget what was captured so far (capturing goes on)."""
        with self._lock:
            self._emissions.clear()

    def matching(
        self,
        event_type: type[E],
        *,
        origin: object = ANY_ORIGIN,
        where: Callable[[E], object] | None = None,
    ) -> list[CapturedEmission]:
        """The captured emissions of ``event_type`` from ``origin`` satisfying ``where``."""
        _check_event_type(event_type)
        return [
            captured
            for captured in self.emissions
            if event_type_matches(captured.event_type, event_type)
            and _origin_is(origin, captured.origin)
            and (where is None or where(captured.event))  # type: ignore[arg-type]
        ]

    def events(
        self,
        event_type: type[E],
        *,
        origin: object = ANY_ORIGIN,
        where: Callable[[E], object] | None = None,
    ) -> list[E]:
        """The events of ``event_type`` (as the handlers left them) from ``origin`` satisfying ``where``."""
        return [captured.event for captured in self.matching(event_type, origin=origin, where=where)]  # type: ignore[misc]

    def one(
        self,
        event_type: type[E],
        *,
        origin: object = ANY_ORIGIN,
        where: Callable[[E], object] | None = None,
    ) -> E:
        """Assert that exactly one such event was emitted, and return it.

        Raises :class:`AssertionError` listing what was captured otherwise.
        """
        found = self.events(event_type, origin=origin, where=where)
        if len(found) != 1:
            raise AssertionError(self._explain("exactly one", len(found), event_type, origin, where))
        return found[0]

    def assert_emitted(
        self,
        event_type: type[Event],
        *,
        origin: object = ANY_ORIGIN,
        where: Callable[[Any], object] | None = None,
        times: int | None = None,
    ) -> None:
        """Assert that such an event was emitted (``times`` times exactly, when given)."""
        found = len(self.matching(event_type, origin=origin, where=where))
        if (times is None and found == 0) or (times is not None and found != times):
            wanted = "at least one" if times is None else f"exactly {times}"
            raise AssertionError(self._explain(wanted, found, event_type, origin, where))

    def assert_not_emitted(
        self,
        event_type: type[Event],
        *,
        origin: object = ANY_ORIGIN,
        where: Callable[[Any], object] | None = None,
    ) -> None:
        """Assert that no such event was emitted."""
        self.assert_emitted(event_type, origin=origin, where=where, times=0)

    def _explain(
        self,
        wanted: str,
        found: int,
        event_type: type[Event],
        origin: object,
        where: Callable[..., object] | None,
    ) -> str:
        what = event_type.__qualname__
        if origin is not ANY_ORIGIN:
            what += f" with origin {describe_origin(origin)}"
        if where is not None:
            what += f" satisfying {describe_callable(where)}"
        captured = self.emissions
        lines = [f"expected {wanted} {what}, found {found}; {len(captured)} emission(s) captured:"]
        lines += [f"  {i}. {c.describe()}" for i, c in enumerate(captured, 1)] or ["  (none)"]
        return "\n".join(lines)


def _check_event_type(event_type: object) -> None:
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(f"expected an Event subclass to match captured emissions against, got {event_type!r}")


@contextmanager
def capture_events() -> Iterator[EventCapture]:
    """Capture every emission in the ``with`` block (from every thread).

    With Django, every model emits its record events meanwhile, handled or
    not, so that ``assert_emitted(PreRecordCreate[Book])`` sees them.

    For example::

        with capture_events() as captured:
            emit_event(SettingChanged, origin=Setting, name="site_name")
        captured.one(SettingChanged, origin=Setting)
    """
    capture = EventCapture()
    with ExitStack() as stack:
        # With Django, models emit record events only while someone handles them: capturing is handling them.
        wiring = sys.modules.get("canvas_core.django._wiring")
        if wiring is not None:
            stack.enter_context(wiring.all_models_wired())
        stack.enter_context(instrumented(capture))
        yield capture
