"""Run background handlers on Celery workers (``pip install canvas-core[celery]``).

Configure it where the Celery app is defined, a module both the emitting
processes and the workers import::

    app = Celery("shop", broker="redis://127.0.0.1:6379/0")
    background.use_engine(CeleryEngine(app, retries=3))

Jobs are JSON messages; the task acknowledges a message only after the handler
finished (``acks_late``) and gives it back to the broker when the worker
process dies mid-task (``reject_on_worker_lost``), so a crash does not lose an
event; the handler may then run twice, so make it idempotent.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task

from canvas_core.events._reporting import report_failure

from ._engine import call_handler, load_job
from ._serialization import Job

__all__ = ["TASK_NAME", "CeleryEngine"]

TASK_NAME = "canvas_core.background.run_handler"
"""The name of the Celery task that runs background handlers."""

logger = logging.getLogger("canvas_core.background")


class CeleryEngine:
    """Enqueues background jobs as tasks of ``app``; its workers run them.

    ``retries``: how many times a failing handler is retried before its failure
    is reported (logged and emitted as ``HandlerFailed`` in the worker).
    ``retry_delay``: seconds before the first retry, doubled for each further
    one. ``queue``: the Celery queue to send to (the app's default otherwise).
    """

    def __init__(self, app: Celery, *, retries: int = 3, retry_delay: float = 1.0, queue: str | None = None) -> None:
        if retries < 0 or retry_delay < 0:
            raise ValueError("CeleryEngine retries and retry_delay must not be negative")
        self.app = app
        self.retries = retries
        self.retry_delay = retry_delay
        self.queue = queue

        @app.task(
            name=TASK_NAME,
            bind=True,
            acks_late=True,
            reject_on_worker_lost=True,
            max_retries=retries,
            ignore_result=True,
        )
        def run_handler(task: Task[Any, Any], message: dict[str, Any]) -> None:
            self._run(task, message)

        self.task: Task[[dict[str, Any]], None] = run_handler

    def enqueue(self, job: Job) -> None:
        # An explicit argsrepr keeps field values (personal, secret data) out of
        # Celery's logs and monitoring, and skips Celery's costly repr.
        options: dict[str, Any] = {"argsrepr": f"({job.handler}, {job.event_type})", "kwargsrepr": "{}"}
        if self.queue is not None:
            options["queue"] = self.queue
        self.task.apply_async((job.to_message(),), **options)

    def _run(self, task: Task[Any, Any], message: dict[str, Any]) -> None:
        handler, event = load_job(Job.from_message(message))
        if handler is None:
            return
        try:
            call_handler(handler, event)
        except Exception as exc:
            attempt = task.request.retries
            if attempt < self.retries:
                delay = self.retry_delay * 2**attempt
                logger.warning(
                    "Background handler %s failed (attempt %d of %d); retrying in %.1fs: %r",
                    message["handler"],
                    attempt + 1,
                    self.retries + 1,
                    delay,
                    exc,
                )
                raise task.retry(exc=exc, countdown=delay) from exc
            report_failure(event, None, handler, exc)
