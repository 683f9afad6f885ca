"""Delivery after commit: side effects that must not follow a rolled-back write."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, transaction

from canvas_core.events import EmissionContext, Event, current_context
from canvas_core.events._context import restored_context
from canvas_core.events._describe import describe_callable
from canvas_core.events._registry import check_handler
from canvas_core.events._reporting import report_failure

__all__ = ["after_commit"]

E = TypeVar("E", bound=Event)


def after_commit(handler: Callable[[E], object]) -> Callable[[E], None]:
    """Make ``handler`` run once the current transaction commits, not when the event is emitted.

    Put it under :func:`~canvas_core.events.handle_event`::

        @events.handle_event(events.PostRecordUpdate, origin=Setting)
        @after_commit
        def email_admins(event: events.PostRecordUpdate[Setting]) -> None: ...

    When the event is emitted inside ``atomic()``, the handler is scheduled
    with :func:`django.db.transaction.on_commit` on the record's database (the
    default database for events without a record): it runs after the
    outermost block commits, and never if the transaction, or the savepoint it
    was scheduled in, rolls back. Outside a transaction the write is already
    committed and the handler runs at once.

    The handler receives a copy of the event taken at emission: its ``diff``
    (for update events) is the one of that save, even if the record is saved
    again before the commit. ``record`` is the live model instance. A failure
    is logged and reported as :class:`~canvas_core.events.HandlerFailed`, like
    any handler's. Pre events are emitted before the write; use this with Post
    events, whose write it follows.

    ``remove_handler()`` takes the returned function (the name the decorator
    binds), not the undecorated one.
    """

    check_handler(handler)  # a clear TypeError now, rather than a failure after some commit
    if inspect.iscoroutinefunction(handler):
        raise TypeError(
            f"after_commit() cannot defer the coroutine function {describe_callable(handler)}: on_commit callbacks "
            "are synchronous. Register it with handle_event(..., background=True) to run it after the commit instead."
        )

    @functools.wraps(handler)
    def schedule(event: E) -> None:
        frozen = _frozen(event)
        record = getattr(event, "record", None)
        using = getattr(getattr(record, "_state", None), "db", None) or DEFAULT_DB_ALIAS
        # The callback runs outside the emitter's events.context(): it takes that context along.
        saved = current_context()
        transaction.on_commit(functools.partial(_run, handler, frozen, saved), using=using)

    schedule.canvas_after_commit = True  # type: ignore[attr-defined]  # read by `canvas-events handlers`
    return schedule


def _frozen(event: E) -> E:
    # A new dict: handlers that run before the commit cannot change what this one sees.
    diff = getattr(event, "diff", None)
    return event.model_copy(update={"diff": dict(diff)} if isinstance(diff, dict) else None)


def _run(handler: Callable[[E], object], event: E, saved: EmissionContext) -> None:
    try:
        with restored_context(saved):
            handler(event)
    except Exception as exc:  # isolated like any handler failure: the commit already happened
        origin: Any = type(getattr(event, "record", None)) if hasattr(event, "record") else None
        report_failure(event, origin, handler, exc)
