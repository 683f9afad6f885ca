"""Handler isolation: restoring registrations, running only chosen handlers, muting events."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from canvas_core.events import Event, Instrument, instrumented
from canvas_core.events._describe import describe_callable
from canvas_core.events._dispatch import registry
from canvas_core.events._generics import event_type_matches
from canvas_core.events._registry import Handler

__all__ = ["MutedEvents", "isolated_handlers", "muted", "only_handlers"]


@contextmanager
def isolated_handlers() -> Iterator[None]:
    """Restore the registrations found on entry when the ``with`` block ends.

    Handlers registered inside the block are removed, handlers removed inside
    it come back. The pytest plugin does this around every test.
    """
    snapshot = registry.snapshot()
    try:
        yield
    finally:
        registry.restore(snapshot)


@contextmanager
def only_handlers(*handlers: Callable[..., object]) -> Iterator[None]:
    """Keep only the registrations of ``handlers`` for the ``with`` block, then restore all.

    Each chosen handler keeps the event types and origins it was registered
    for. Handlers registered inside the block are added as usual (and removed
    at its end). Raises :class:`ValueError` for a handler that is not
    registered, since running "only" it could not mean anything.
    """
    current = registry.registrations()
    registered = {r.handler for r in current}
    missing = [h for h in handlers if h not in registered]
    if missing:
        names = ", ".join(describe_callable(h) for h in missing)
        raise ValueError(f"only_handlers(): {names} is not registered; register it with handle_event() first")
    chosen = set(handlers)
    with isolated_handlers():
        # Filter a snapshot rather than re-adding: a registration keeps how it
        # runs (async, in the background), which re-adding would lose.
        kept = {
            event_type: {
                origin: {handler: runner for handler, runner in by_handler.items() if handler in chosen}
                for origin, by_handler in by_origin.items()
            }
            for event_type, by_origin in registry.snapshot().items()
        }
        registry.restore(kept)
        yield


class MutedEvents(Instrument):
    """An instrument that runs no handler for emissions of the muted event types."""

    def __init__(self, event_types: Sequence[type[Event]]) -> None:
        for event_type in event_types:
            if not (isinstance(event_type, type) and issubclass(event_type, Event)):
                raise TypeError(f"muted() takes Event subclasses, got {event_type!r}")
        if not event_types:
            raise TypeError("muted() needs at least one event type to mute")
        self.event_types = tuple(event_types)

    def select_handlers(self, event: Event, origin: object, handlers: tuple[Handler, ...]) -> Sequence[Handler]:
        emitted = type(event)
        if any(event_type_matches(emitted, muted) for muted in self.event_types):
            return ()
        return handlers


@contextmanager
def muted(*event_types: type[Event]) -> Iterator[MutedEvents]:
    """Run no handler at all for emissions of ``event_types`` (and subclasses) in the ``with`` block.

    The events are still built, validated, returned and captured; only their
    handlers are skipped. Registrations are left alone, so a handler of a base
    class still runs for other events.
    """
    instrument = MutedEvents(event_types)
    with instrumented(instrument):
        yield instrument
