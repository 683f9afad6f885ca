"""Running record event handlers without breaking the caller's transaction.

Outside a transaction (autocommit) a record event is emitted with
:func:`~canvas_core.events.emit_event`: each query a handler runs commits on
its own, and a failing one harms nothing else.

Inside ``atomic()`` a failing query poisons the whole transaction (PostgreSQL
refuses every later statement, Django raises ``TransactionManagementError``),
so each handler runs behind its own savepoint: a failing handler's work is
rolled back to it, the other handlers' work and the caller's transaction
survive. The savepoint is created lazily, by an execute wrapper, just before
the handler's first query: a handler that runs no SQL (logging, caching,
scheduling an email after commit) costs no query at all; one that does costs
two more (``SAVEPOINT`` and ``RELEASE SAVEPOINT``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.transaction import TransactionManagementError

from canvas_core.events import Event, EventValidationError, emit_event
from canvas_core.events._adapters import reject_awaitable
from canvas_core.events._dispatch import emit_guarded, emit_guarded_each

__all__ = ["deliver", "deliver_each"]

logger = logging.getLogger("canvas_core.django")


def deliver(
    event_type: type[Event],
    origin: type[Any],
    using: str,
    fields: dict[str, Any],
    connection: BaseDatabaseWrapper | None = None,
) -> None:
    """Emit ``event_type`` about a write on database ``using``.

    Handlers run as with :func:`emit_event`; inside an atomic block each runs
    behind a lazily created savepoint (see the module docstring). An event the
    integration cannot build is its own bug, never the caller's: it is logged
    at ERROR and the write goes on without it. ``connection``: ``using``'s, when
    the caller has it (``connections[using]`` costs more than emitting).
    """
    if connection is None:
        connection = connections[using]
    fields["database"] = using
    try:
        if connection.in_atomic_block:
            emit_guarded(_Guard(connection).run, event_type, origin, fields)
        else:
            emit_event(event_type, origin=origin, **fields)
    except EventValidationError as exc:
        _invalid(event_type, origin, exc)


def deliver_each(
    event_type: type[Event],
    origin: type[Any],
    using: str,
    each_fields: Iterable[dict[str, Any]],
    connection: BaseDatabaseWrapper | None = None,
) -> None:
    """:func:`deliver` one event per item of ``each_fields``, in order (one write of many rows).

    The handlers are looked up once for all the events, and inside ``atomic()``
    one savepoint guard serves every handler call in turn.
    """
    if connection is None:
        connection = connections[using]
    if connection.in_atomic_block:
        invalid = functools.partial(_invalid, event_type, origin)
        emit_guarded_each(_Guard(connection).run, event_type, origin, _on_database(each_fields, using), invalid)
        return
    for fields in each_fields:
        fields["database"] = using
        try:
            emit_event(event_type, origin=origin, **fields)
        except EventValidationError as exc:
            _invalid(event_type, origin, exc)


def _on_database(each_fields: Iterable[dict[str, Any]], using: str) -> Iterator[dict[str, Any]]:
    for fields in each_fields:
        fields["database"] = using
        yield fields


def _invalid(event_type: type[Event], origin: type[Any], exc: EventValidationError) -> None:
    logger.error(
        "canvas_core could not build %s for a write of %s; its handlers did not run",
        event_type.__qualname__,
        origin.__qualname__,
        exc_info=exc,
    )


class _LazySavepoint:
    """An execute wrapper that opens a savepoint just before the first query it sees."""

    __slots__ = ("connection", "sid")

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.sid: str | None = None

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.sid is None:
            connection = self.connection
            # Our SAVEPOINT statement must not pass through the wrappers
            # (ourselves included, or a nested handler's, which would then open
            # its savepoint before ours).
            wrappers = connection.execute_wrappers
            connection.execute_wrappers = []
            try:
                self.sid = connection.savepoint()
            finally:
                connection.execute_wrappers = wrappers
        return execute(sql, params, many, context)


class _Guard:
    """Runs handlers one at a time, each behind its own lazy savepoint (see the module docstring).

    One guard serves all the handler calls of one write, in turn: the
    savepoint wrapper is reset for each call rather than made anew.
    """

    __slots__ = ("connection", "savepoint")

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.savepoint = _LazySavepoint(connection)

    def run(self, handler: Callable[[Any], object], event: Event) -> None:
        """Call ``handler``; on failure undo its SQL and ``on_commit`` callbacks, then re-raise."""
        connection = self.connection
        savepoint = self.savepoint
        if savepoint.sid is not None:  # the previous call was cut short (KeyboardInterrupt...): start afresh
            savepoint = self.savepoint = _LazySavepoint(connection)
        # What the handler schedules with on_commit() comes after this mark, also before its first query.
        on_commit_mark = len(connection.run_on_commit)
        doomed_before = connection.needs_rollback
        failure: Exception | None = None
        # What connection.execute_wrapper(savepoint) does, without a generator per handler call.
        connection.execute_wrappers.append(savepoint)
        try:
            result = handler(event)
            if result is not None:
                reject_awaitable(result, handler)
        except Exception as exc:
            failure = exc
        finally:
            connection.execute_wrappers.pop()
        sid = savepoint.sid
        if failure is None and connection.needs_rollback and not doomed_before and sid is not None:
            # The handler caught an error inside its own atomic(savepoint=False): Django marked the
            # transaction for rollback. Its writes are undone below; say so instead of losing them silently.
            failure = TransactionManagementError(
                "The handler caught an exception raised inside its own atomic(savepoint=False) block, which marks "
                "the transaction for rollback: its database writes were rolled back. Use atomic() with a savepoint "
                "in the handler, or let the exception propagate."
            )
        if sid is not None:
            if failure is None and not connection.needs_rollback:
                try:
                    connection.savepoint_commit(sid)
                    sid = None
                except DatabaseError as exc:  # e.g. the handler swallowed an error that aborted the transaction
                    failure = exc
            if sid is not None:
                # Undo what the handler did: the caller's transaction becomes usable again.
                connection.needs_rollback = False
                try:
                    connection.savepoint_rollback(sid)
                except DatabaseError:  # the connection is broken: only the caller's rollback can help
                    connection.needs_rollback = True
        elif connection.needs_rollback and not doomed_before:
            connection.needs_rollback = False  # the handler ran no SQL: nothing of the caller's is lost
        savepoint.sid = None  # ready for the next handler
        if failure is not None:
            del connection.run_on_commit[on_commit_mark:]  # nothing a failed handler scheduled runs
            raise failure
