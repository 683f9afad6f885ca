"""The adapter the registry stores for a background handler, and the registry's hook that builds it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from canvas_core.events import Event, RecordEvent
from canvas_core.events import _registry as core_registry
from canvas_core.events._adapters import HandlerAdapter
from canvas_core.events._reporting import report_failure

from ._engine import current_engine
from ._serialization import EventNotSerializable, Job, check_serializable, handler_name, has_secrets

__all__ = ["BackgroundHandler"]


class BackgroundHandler(HandlerAdapter):
    """Enqueues a copy of the event for ``handler`` instead of calling it."""

    __slots__ = ("name", "registered_for")

    background = True

    def __init__(self, handler: Callable[[Any], object], name: str, registered_for: type[Event]) -> None:
        super().__init__(handler)
        self.name = name
        self.registered_for = registered_for

    @classmethod
    def for_registration(cls, event_type: type[Event], handler: Callable[[Any], object]) -> BackgroundHandler:
        """Check that a worker can call ``handler`` for ``event_type``; raise :class:`TypeError` saying why not."""
        name = handler_name(handler)
        for other in registered_background_handlers():
            if other.name == name and other.handler is not handler:
                raise TypeError(
                    f"another function named {name} is already a background handler: a worker could not tell them "
                    "apart. Give each background handler its own module-level name"
                )
        try:
            check_serializable(event_type)
        except EventNotSerializable as exc:
            raise TypeError(str(exc)) from None
        return cls(handler, name, event_type)

    def __call__(self, event: Any) -> None:
        job = Job.for_event(self.name, self.registered_for, event)  # copy now: the emitter may change it later
        engine = current_engine()
        database = _transaction_database(event)
        event_class: type[Event] = type(event)
        if database is None and has_secrets(event_class) and "django.db" in sys.modules:
            # Not in the broker message, even signed: through the outbox,
            # which commits at once outside a transaction.
            from django.db import DEFAULT_DB_ALIAS

            database = DEFAULT_DB_ALIAS
        if database is None:
            engine.enqueue(job)
            return
        # An engine with an outbox writes the job in the emitter's transaction.
        enqueue_in_transaction = getattr(engine, "enqueue_in_transaction", None)
        if enqueue_in_transaction is not None and enqueue_in_transaction(job, database):
            return
        if not isinstance(event, RecordEvent):
            engine.enqueue(job)
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


def registered_background_handlers() -> list[BackgroundHandler]:
    from canvas_core.events._dispatch import registry

    return [
        runner
        for by_origin in registry.snapshot().values()
        for handlers in by_origin.values()
        for runner in handlers.values()
        if isinstance(runner, BackgroundHandler)
    ]


def _transaction_database(event: Event) -> str | None:
    """The database whose transaction the job belongs to: the record's, else the default one while in ``atomic()``."""
    models = sys.modules.get("django.db.models")
    if models is None:
        return None
    record = getattr(event, "record", None)
    if isinstance(event, RecordEvent) and isinstance(record, models.Model):
        # (sys.modules, not ``from django.db import router``: that statement runs importlib code per job)
        return record._state.db or sys.modules["django.db"].router.db_for_write(type(record))  # type: ignore[no-any-return]
    from django.conf import settings
    from django.db import DEFAULT_DB_ALIAS, connections

    if settings.configured and DEFAULT_DB_ALIAS in settings.DATABASES:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.in_atomic_block:
            return DEFAULT_DB_ALIAS
    return None


def _runner(event_type: type[Event], handler: Callable[[Any], object]) -> BackgroundHandler:
    return BackgroundHandler.for_registration(event_type, handler)


core_registry.background_runner = _runner
