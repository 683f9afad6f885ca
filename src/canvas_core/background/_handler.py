"""The adapter the registry stores for a background handler."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from canvas_core.events import Event, RecordEvent
from canvas_core.events._adapters import HandlerAdapter
from canvas_core.events._reporting import report_failure

from ._engine import current_engine
from ._serialization import EventNotSerializable, Job, check_serializable, import_path

__all__ = ["BackgroundHandler"]


class BackgroundHandler(HandlerAdapter):
    """Enqueues a copy of the event for ``handler`` instead of calling it."""

    __slots__ = ("path",)

    background = True

    def __init__(self, handler: Callable[[Any], object], path: str) -> None:
        super().__init__(handler)
        self.path = path

    @classmethod
    def for_registration(cls, event_type: type[Event], handler: Callable[[Any], object]) -> BackgroundHandler:
        """Check that ``handler`` can run on a worker for ``event_type``; raise :class:`TypeError` if not."""
        try:
            path = import_path(handler, what="background handler")
            check_serializable(event_type)
        except EventNotSerializable as exc:
            raise TypeError(str(exc)) from None
        return cls(handler, path)

    def __call__(self, event: Any) -> None:
        job = Job.for_event(self.path, event)  # copy now: the emitter may change the event afterwards
        database = _django_database_of(event.record) if isinstance(event, RecordEvent) else None
        if database is None:
            current_engine().enqueue(job)
            return
        from django.db import transaction

        # Nothing is enqueued for a write that is rolled back; in autocommit
        # mode Django runs the callback at once.
        transaction.on_commit(partial(self._enqueue_after_commit, job, event), using=database)

    def _enqueue_after_commit(self, job: Job, event: Event) -> None:
        try:
            current_engine().enqueue(job)
        except Exception as exc:  # the commit is done; report rather than raise into the committer
            report_failure(event, None, self, exc)


def _django_database_of(record: object) -> str | None:
    import sys

    models = sys.modules.get("django.db.models")
    if models is None or not isinstance(record, models.Model):
        return None
    from django.db import router

    return record._state.db or router.db_for_write(type(record))
