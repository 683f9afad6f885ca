"""The background registrations of this process, by the names jobs carry.

A worker runs a job only if this process registered the job's handler with
``background=True`` for the job's event class: the job's names are keys of
this index, never import paths. The index follows the event registry (it is
rebuilt after any registration changes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from canvas_core.events import Event
from canvas_core.events._dispatch import registry

from ._serialization import Job, JobRejected, event_name, resolve_event_class

__all__ = ["Registered", "find", "rebuild"]

Registered = tuple[Callable[[Any], object], type[Event]]
"""A background handler and the event class it was registered for."""

_lock = threading.Lock()
_index: dict[tuple[str, str], Registered] | None = None


def _forget() -> None:
    global _index
    with _lock:
        _index = None


registry.listeners.append(_forget)


def _build() -> dict[tuple[str, str], Registered]:
    from ._handler import BackgroundHandler

    index: dict[tuple[str, str], Registered] = {}
    for event_type, by_origin in registry.snapshot().items():
        for handlers in by_origin.values():
            for handler, runner in handlers.items():
                if isinstance(runner, BackgroundHandler):
                    index[runner.name, event_name(event_type)] = (handler, event_type)
    return index


def find(handler: str, registered_for: str) -> Registered:
    """The registration a job names; :class:`JobRejected` when this process has none."""
    global _index
    with _lock:
        if _index is None:
            _index = _build()
        found = _index.get((handler, registered_for))
    if found is None:
        raise JobRejected(
            f"this process has no background handler {handler[:200]} registered for {registered_for[:200]}: "
            "the worker must import the module that registers it (and run the same code version as the emitter)"
        )
    return found


def rebuild(job: Job) -> tuple[Callable[[Any], object], Event]:
    """The handler a job names and its event, rebuilt from the job's data without importing anything."""
    handler, registered_for = find(job.handler, job.registered_for)
    event_class = resolve_event_class(job.event_type, registered_for)
    return handler, job.rebuild(event_class)
