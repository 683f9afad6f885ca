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
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from canvas_core.events import Event, emit_event
from canvas_core.events._adapters import reject_awaitable
from canvas_core.events._dispatch import emit_guarded

__all__ = ["deliver"]


def deliver(event_type: type[Event], origin: type[Any], using: str, fields: dict[str, Any]) -> Event:
    """Emit ``event_type`` about a write on database ``using``; return the event.

    Handlers run as with :func:`emit_event`; inside an atomic block each runs
    behind a lazily created savepoint (see the module docstring).
    """
    fields["database"] = using
    connection = connections[using]
    if not connection.in_atomic_block:
        return emit_event(event_type, origin=origin, **fields)
    return emit_guarded(functools.partial(_run_guarded, connection), event_type, origin, fields)


class _LazySavepoint:
    """An execute wrapper that opens a savepoint just before the first query it sees."""

    __slots__ = ("connection", "on_commit_mark", "sid")

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.sid: str | None = None
        self.on_commit_mark = 0

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
            self.on_commit_mark = len(connection.run_on_commit)
        return execute(sql, params, many, context)


def _run_guarded(connection: BaseDatabaseWrapper, handler: Callable[[Any], object], event: Event) -> None:
    """Call ``handler``; on failure undo its SQL and ``on_commit`` callbacks, then re-raise."""
    savepoint = _LazySavepoint(connection)
    failure: Exception | None = None
    with connection.execute_wrapper(savepoint):
        try:
            result = handler(event)
            if result is not None:
                reject_awaitable(result, handler)
        except Exception as exc:
            failure = exc
    sid = savepoint.sid
    if sid is not None:
        if failure is None and not connection.needs_rollback:
            try:
                connection.savepoint_commit(sid)
                sid = None
            except DatabaseError as exc:  # e.g. the handler swallowed an error that aborted the transaction
                failure = exc
        if sid is not None:
            # Undo what the handler did: the caller's transaction becomes usable
            # again, and nothing the handler scheduled with on_commit() runs.
            connection.needs_rollback = False
            try:
                connection.savepoint_rollback(sid)
            except DatabaseError:  # the connection is broken: only the caller's rollback can help
                connection.needs_rollback = True
            else:
                del connection.run_on_commit[savepoint.on_commit_mark :]
    if failure is not None:
        raise failure
