"""Run background handlers on Celery workers (``pip install canvas-core[celery]``).

Two ways a job reaches a worker:

* **Through the outbox** (Django, with ``canvas_core`` installed and migrated):
  a job emitted inside a transaction is a row of the ``canvas_core`` job table
  written in that transaction, and the broker message carries only its id. The
  committing process publishes it right after the commit (from a thread, so
  the committer does not wait); ``manage.py canvas_relay`` publishes what a
  crash or a broker outage left behind.
* **Directly**, outside a transaction or without Django: the message carries
  the job, signed with HMAC (see :mod:`canvas_core.background._signing`);
  workers reject unsigned and altered messages.

Workers run only handlers their own process registered with
``background=True``, for the event class they were registered for; nothing a
message says is imported. The task acknowledges a message only after the job
ended (``acks_late``) and hands it back when the worker process dies
(``reject_on_worker_lost``). A job that cannot be rebuilt, whose handler
failed ``retries + 1`` times, or whose deliveries killed the worker
``max_lost_deliveries`` times goes to the dead letters of the ledger (the
Django tables, or a :class:`~canvas_core.background.ledger.RedisLedger`;
``canvas-events dead-letters``). The ledger records finished jobs (up to 50 at
a time, so a killed worker process reruns at most 49 succeeded jobs of its
message), and a redelivered job recorded as finished does not run again.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any

from celery import Celery, Task
from celery.exceptions import Reject

from canvas_core.events._reporting import report_failure

from . import _signing
from ._engine import call_handler
from ._registrations import rebuild
from ._serialization import Job, JobRejected, RecordNotFound, describe_error

if TYPE_CHECKING:
    from ._outbox import Relay
    from .ledger import Delivery, Ledger

__all__ = ["TASK_NAME", "BackgroundHandlerExited", "CeleryEngine"]

TASK_NAME = "canvas_core.background.run_handler"
"""The name of the Celery task that runs background handlers."""

logger = logging.getLogger("canvas_core.background")

_MAX_IDS_PER_MESSAGE = 1000
_FINISH_BATCH = 50


class BackgroundHandlerExited(RuntimeError):
    """A background handler raised a ``BaseException`` that is not an ``Exception`` (``SystemExit``...).

    It is reported as the handler's failure instead of ending the worker, which
    would have the broker deliver the job again and again.
    """


class CeleryEngine:
    """Enqueues background jobs as tasks of ``app``; its workers run them.

    ``retries``: how many times a failing handler is retried before its failure
    is reported (logged and emitted as ``HandlerFailed`` in the worker) and the
    job dead-lettered. ``retry_delay``: seconds before the first retry, doubled
    for each further one. ``queue``: the Celery queue to send to (the app's
    default otherwise). ``max_lost_deliveries``: after that many deliveries of a
    job ended without the worker process reporting back (killed, out of memory,
    ``os._exit``), the next one dead-letters it instead of running it (needs the
    ledger, which counts deliveries). ``outbox``: use the Django outbox
    for jobs emitted inside a transaction (default: whenever ``canvas_core`` is
    an installed app). ``ledger``: where workers count deliveries, record
    finished jobs and keep dead letters for jobs that travel in their message
    (a :class:`~canvas_core.background.ledger.RedisLedger` without Django;
    default: the Django tables when there are any, else none, and such jobs
    are rejected to the broker instead of dead-lettered).
    """

    def __init__(
        self,
        app: Celery,
        *,
        retries: int = 3,
        retry_delay: float = 1.0,
        queue: str | None = None,
        max_lost_deliveries: int = 3,
        outbox: bool = True,
        ledger: Ledger | None = None,
    ) -> None:
        if retries < 0 or retry_delay < 0 or max_lost_deliveries < 1:
            raise ValueError(
                "CeleryEngine retries and retry_delay must not be negative, and max_lost_deliveries must be at least 1"
            )
        self.app = app
        self.retries = retries
        self.retry_delay = retry_delay
        self.queue = queue
        self.max_lost_deliveries = max_lost_deliveries
        self.outbox = outbox
        self.ledger = ledger
        self._relay: Relay | None = None
        self._relay_lock = threading.Lock()

        @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
        def run_handler(task: Task[Any, Any], message: Any) -> None:
            try:
                self.run_message(message)
            except Reject:
                raise
            except Exception as exc:  # not the handler's (caught inside): the database or broker failed
                delay = max(self.retry_delay, 1.0)
                logger.error(
                    "A background job message could not be processed (%s); it is tried again in %.0fs",
                    type(exc).__qualname__,
                    delay,
                )
                raise task.retry(countdown=delay, max_retries=None) from None

        self.task: Task[[Any], None] = run_handler

    # -- emitting -------------------------------------------------------------

    def enqueue(self, job: Job) -> None:
        """Publish ``job`` in a signed message."""
        self._send(self._signed(job), what=job.id)

    def enqueue_in_transaction(self, job: Job, using: str) -> bool:
        """Write ``job`` to the outbox in the current transaction of ``using``; ``False`` when there is none."""
        if not self.outbox or not _django_tables_available():
            return False
        _outbox_module().stage(job, using, self.relay())
        return True

    def relay(self) -> Relay:
        """The relay that publishes this process's committed outbox jobs."""
        with self._relay_lock:
            if self._relay is None:
                from ._outbox import Relay

                self._relay = Relay(self.publish_ids)
            return self._relay

    def publish_ids(self, using: str, ids: list[str], *, attempt: int = 0, countdown: float | None = None) -> None:
        """Publish outbox jobs of database ``using`` by id, in as few messages as possible."""
        for start in range(0, len(ids), _MAX_IDS_PER_MESSAGE):
            chunk = ids[start : start + _MAX_IDS_PER_MESSAGE]
            message = {"jobs": chunk, "db": using, "attempt": attempt}
            self._send(message, what=f"{len(chunk)} job(s)", countdown=countdown)

    def _signed(self, job: Job, attempt: int = 0) -> dict[str, Any]:
        text = _signing.canonical(job.to_payload())
        if job.sealed:  # secrets or repr=False fields: the broker must not see the values
            return {"sealed": _signing.seal(text), "attempt": attempt}
        return {"job": text, "sig": _signing.sign(text), "attempt": attempt}

    def _send(self, message: dict[str, Any], *, what: str, countdown: float | None = None) -> None:
        # An explicit argsrepr keeps the message (field values, for signed
        # jobs) out of Celery's logs and monitoring.
        options: dict[str, Any] = {"argsrepr": f"(canvas-core {what})", "kwargsrepr": "{}"}
        if self.queue is not None:
            options["queue"] = self.queue
        if countdown is not None:
            options["countdown"] = countdown
        self.task.apply_async((message,), **options)

    # -- working --------------------------------------------------------------

    def run_message(self, message: Any) -> None:
        """Run the job(s) a task message names, as a worker does."""
        attempt = message.get("attempt", 0) if isinstance(message, dict) else 0
        if not isinstance(attempt, int) or not 0 <= attempt <= self.retries:
            attempt = self.retries  # a forged count buys no extra runs
        if isinstance(message, dict) and "jobs" in message:
            self._run_outbox_jobs(message, attempt)
            return
        ledger = self._signed_jobs_ledger()
        if isinstance(message, dict) and ("job" in message or "sealed" in message):
            sealed = "sealed" in message
            text = _signing.unseal(message.get("sealed")) if sealed else message.get("job")
            if text is None or (not sealed and not _signing.verify(text, message.get("sig"))):
                self._dead_letter(ledger, None, "the message is unsigned or its signature does not match")
                return
            try:
                job = Job.from_payload(_json_loads(text))
            except JobRejected as exc:
                self._dead_letter(ledger, None, describe_error(exc))
                return
            if sealed:  # a retry must travel sealed too
                job = dataclasses.replace(job, sealed=True)
            self._run_jobs([job], attempt, ledger, outbox_database=None)
        else:
            self._dead_letter(ledger, None, "the message is not a canvas-core job message")

    def _run_outbox_jobs(self, message: dict[str, Any], attempt: int) -> None:
        ids, using = message.get("jobs"), message.get("db")
        if not _django_tables_available():
            self._dead_letter(
                self._signed_jobs_ledger(), None, "the message names outbox jobs, and this worker has no Django tables"
            )
            return
        from django.conf import settings

        outbox = _outbox_module()
        if not isinstance(ids, list) or not isinstance(using, str) or using not in settings.DATABASES:
            ledger = outbox.DjangoLedger(outbox.job_database())
            self._dead_letter(ledger, None, "the message names outbox jobs in an unknown way")
            return
        ledger = outbox.DjangoLedger(using)
        ids = [str(job_id) for job_id in ids[:_MAX_IDS_PER_MESSAGE]]
        payloads = outbox.load(using, ids)
        jobs: list[Job] = []
        finished = outbox.finished(using, [job_id for job_id in ids if job_id not in payloads])
        for job_id in ids:
            if job_id in finished:
                logger.info("Background job %s already finished; its redelivery is not run", job_id)
                continue
            if job_id not in payloads:
                self._dead_letter(ledger, None, "the message names a job that is not in the outbox", job_id=job_id)
                continue
            try:
                job = Job.from_payload(payloads[job_id])
            except JobRejected as exc:
                self._dead_letter(ledger, None, describe_error(exc), job_id=job_id)
                continue
            jobs.append(job)
        self._run_jobs(jobs, attempt, ledger, outbox_database=using)

    def _run_jobs(self, jobs: list[Job], attempt: int, ledger: Ledger | None, *, outbox_database: str | None) -> None:
        """Run jobs of one message; ``outbox_database``: where their rows are, to hand them on by id."""
        if not jobs:
            return
        deliveries: dict[str, Delivery] = {}
        if ledger is not None:
            deliveries = ledger.begin(jobs)
            lost = [job for job in jobs if job.id in deliveries and deliveries[job.id].lost and len(jobs) > 1]
            if lost:
                # A batch that killed its worker: run each of its unfinished
                # jobs alone, so that only the culprit is dead-lettered.
                unfinished = [job for job in jobs if not deliveries[job.id].finished]
                ledger.attempt_ended([job.id for job in unfinished])
                for job in unfinished:
                    self._hand_on(job, attempt, outbox_database)
                return
        # Finished jobs are recorded a few at a time, not one transaction each:
        # a worker that dies runs the last of them again (at least once).
        done: list[str] = []
        try:
            for job in jobs:
                delivery = deliveries.get(job.id)
                if delivery is not None and delivery.finished:
                    logger.info("Background job %s already finished; its redelivery is not run", job.id)
                    continue
                if delivery is not None and delivery.lost >= self.max_lost_deliveries:
                    self._dead_letter(
                        ledger,
                        job,
                        f"{delivery.lost} deliveries of the job ended its worker process before the handler returned "
                        "(killed, out of memory, or exited)",
                        deliveries=delivery.lost,
                    )
                    continue
                if self._run_job(job, attempt, ledger, outbox_database):
                    done.append(job.id)
                if ledger is not None and len(done) >= _FINISH_BATCH:
                    ledger.finish(done)
                    done = []
        finally:
            if ledger is not None:
                ledger.finish(done)

    def _hand_on(self, job: Job, attempt: int, outbox_database: str | None, countdown: float | None = None) -> None:
        """Publish ``job`` again: by id when its row is in the outbox, else signed."""
        if outbox_database is not None and job.id in _outbox_module().load(outbox_database, [job.id]):
            self.publish_ids(outbox_database, [job.id], attempt=attempt, countdown=countdown)
        else:
            self._send(self._signed(job, attempt), what=job.id, countdown=countdown)

    def _run_job(self, job: Job, attempt: int, ledger: Ledger | None, outbox_database: str | None) -> bool:
        """Run one job; ``True`` when its handler succeeded (the caller records it as finished)."""
        try:
            handler, event = rebuild(job)
        except (JobRejected, RecordNotFound) as exc:
            self._dead_letter(ledger, job, f"the job could not be rebuilt: {describe_error(exc)}")
            return False
        try:
            call_handler(handler, event, job)
        except BaseException as caught:  # SystemExit & co. too: ending the worker would loop the delivery
            failure = caught if isinstance(caught, Exception) else _exited(caught)
            if attempt < self.retries:
                delay = self.retry_delay * 2**attempt
                logger.warning(
                    "Background handler %s failed (attempt %d of %d, job %s); retrying in %.1fs: %s",
                    job.handler,
                    attempt + 1,
                    self.retries + 1,
                    job.id,
                    delay,
                    type(failure).__qualname__,
                )
                if ledger is not None:
                    ledger.attempt_ended([job.id])
                self._hand_on(job, attempt + 1, outbox_database, countdown=delay)
                return False
            report_failure(event, None, handler, failure)
            last = f"{type(failure).__qualname__}: {str(failure)[:500]}"
            self._dead_letter(ledger, job, f"the handler failed {attempt + 1} time(s); last: {last}")
            return False
        return True

    def _signed_jobs_ledger(self) -> Ledger | None:
        """The ledger of jobs that travel in their message: the engine's own, else the Django tables, if any."""
        if self.ledger is not None:
            return self.ledger
        if not _django_tables_available():
            return None
        outbox = _outbox_module()
        ledger: Ledger = outbox.DjangoLedger(outbox.job_database())
        return ledger

    def _dead_letter(
        self, ledger: Ledger | None, job: Job | None, reason: str, *, job_id: str = "", deliveries: int = 0
    ) -> None:
        """Keep a job no worker can complete; log it (without values). ``job=None``: untrusted, kept by reference."""
        job_id = job.id if job is not None else job_id
        handler = job.handler if job is not None else ""
        logger.error(
            "Background job %s%s dead-lettered: %s",
            job_id[:64] or "(unnamed)",
            f" for {handler[:200]}" if handler else "",
            reason,
        )
        if ledger is None:
            # No store to keep it in: reject it, so that a broker dead-letter
            # exchange (RabbitMQ) or the task's failure keeps it.
            raise Reject(reason, requeue=False)
        ledger.dead_letter(job, job_id=job_id, reason=reason, deliveries=deliveries)


def _exited(caught: BaseException) -> BackgroundHandlerExited:
    error = BackgroundHandlerExited(f"the handler raised {type(caught).__qualname__}({caught})")
    error.__cause__ = caught
    return error


def _json_loads(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        raise JobRejected("the job text is not JSON") from None


def _django_tables_available() -> bool:
    if "django.apps" not in sys.modules:
        return False
    return bool(_outbox_module().available())


def _outbox_module() -> ModuleType:
    """``canvas_core.background._outbox``, imported on first use (it needs Django).

    Not ``from . import _outbox`` in each caller: that statement runs importlib's
    Python code on every call, and these run for every job.
    """
    module = sys.modules.get(f"{__package__}._outbox")
    if module is None:
        from . import _outbox

        module = _outbox
    return module
