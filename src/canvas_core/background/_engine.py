"""Where background handlers run: the engine interface and the in-process default."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from canvas_core.events import EmissionContext
from canvas_core.events._context import restored_context
from canvas_core.events._reporting import report_failure

from ._registrations import rebuild
from ._serialization import Job, JobRejected, RecordNotFound, describe_error

__all__ = ["Engine", "InProcessEngine", "current_engine", "run_job", "use_engine"]

logger = logging.getLogger("canvas_core.background")


class Engine(Protocol):
    """Runs background jobs somewhere else, later. :meth:`enqueue` must not wait for the job."""

    def enqueue(self, job: Job) -> None:
        """Hand ``job`` over for execution; raise if it cannot be handed over."""


class InProcessEngine:
    """The default engine: runs each job in the emitting process as soon as it is enqueued.

    A job is enqueued after the emission's other handlers ran (after the commit,
    for record events), so the handler runs then, in the emitting thread, on a
    copy of the event rebuilt exactly as a worker would rebuild it. It needs no
    broker, which suits development, tests and demos; it does not take work off
    the emitter.
    """

    def enqueue(self, job: Job) -> None:
        run_job(job)


def run_job(job: Job) -> None:
    """Rebuild the job's event and run its handler; report the handler's failure like a synchronous one.

    An ``async def`` handler runs on a new event loop, or, when a loop is
    already running in this thread, as a task of that loop which nobody waits
    for (it is a background handler). A failure to rebuild the event (a record
    deleted meanwhile, a handler this process does not register) is logged on
    ``canvas_core.background``, without field values: there is no event to
    report it with.
    """
    handler, event = load_job(job)
    if handler is None or event is None:
        return
    try:
        with job_context(job):
            result = handler(event)
        if inspect.isawaitable(result):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(_await(result))
            else:
                task = loop.create_task(_reporting(result, event, handler))
                _running.add(task)  # the loop keeps only weak references to tasks
                task.add_done_callback(_running.discard)
    except Exception as exc:
        report_failure(event, None, handler, exc)


_running: set[asyncio.Task[None]] = set()


async def _reporting(awaitable: Any, event: Any, handler: Any) -> None:
    try:
        await awaitable
    except Exception as exc:
        report_failure(event, None, handler, exc)


def load_job(job: Job) -> tuple[Any, Any]:
    """The job's handler and rebuilt event, logging and returning ``(None, None)`` when it cannot be rebuilt.

    The log line names the job and says what is wrong, never with field values.
    """
    try:
        return rebuild(job)
    except (JobRejected, RecordNotFound) as exc:
        logger.error("Background job %s for %s could not be loaded: %s", job.id, job.handler[:200], describe_error(exc))
        return None, None


def call_handler(handler: Any, event: Any, job: Job | None = None) -> None:
    """Call a background handler (in ``job``'s emission context); an ``async def`` one runs on its own loop."""
    with job_context(job):
        result = handler(event)
        if inspect.isawaitable(result):
            asyncio.run(_await(result))


def job_context(job: Job | None) -> AbstractContextManager[None]:
    """The emission context the job was emitted in, restored for its handler (nothing to restore: none)."""
    if job is None or not job.context:
        return nullcontext()
    return restored_context(EmissionContext.from_dict(job.context))


async def _await(awaitable: Any) -> None:
    await awaitable


_lock = threading.Lock()
_engine: Engine = InProcessEngine()


def use_engine(engine: Engine) -> Engine:
    """Make ``engine`` run every background handler of this process from now on; return the previous engine."""
    global _engine
    with _lock:
        previous, _engine = _engine, engine
    return previous


def current_engine() -> Engine:
    """The engine background jobs are enqueued on (:class:`InProcessEngine` unless :func:`use_engine` was called)."""
    return _engine
