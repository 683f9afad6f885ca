"""The Django outbox, ledger and dead-letter table of background jobs (imported only with Django).

* :func:`stage` writes a job in the emitter's transaction; :class:`Relay` hands
  committed jobs to the broker right after the commit, from a thread of the
  committing process; :func:`relay_pending` publishes what a crash or a
  broker outage left behind (``manage.py canvas_relay``).
* :func:`begin` / :func:`attempt_ended` / :func:`finish` are the worker's
  ledger: they count deliveries and record finished jobs.
* :func:`dead_letter`, :func:`replay` and :func:`discard` keep and return
  jobs no worker could complete.
* :class:`DjangoLedger` offers the last two as a
  :class:`~canvas_core.background.ledger.Ledger`.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import logging
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router, transaction
from django.db.models import F
from django.db.models.constants import OnConflict
from django.utils import timezone

from ._models import BackgroundJob, DeadLetter
from ._serialization import Job
from .ledger import Delivery, Replayed, StoredDeadLetter

__all__ = [
    "Delivery",
    "DjangoLedger",
    "Relay",
    "attempt_ended",
    "available",
    "begin",
    "dead_letter",
    "discard",
    "finish",
    "finished",
    "load",
    "relay_pending",
    "replay",
    "stage",
]

logger = logging.getLogger("canvas_core.background")

EXIT_FLUSH_TIMEOUT = 5.0
"""Seconds an exiting process waits for its relay thread to publish what it committed."""

Publish = Callable[[str, list[str]], None]
"""Hands job ids of one database to the broker: ``publish(database, ids)``."""


def available() -> bool:
    """Whether this process can use the tables: Django is set up with ``canvas_core`` installed."""
    if not (settings.configured and apps.ready):
        return False
    # apps.is_installed(), by label rather than by scanning every app's name: this runs per job.
    config = apps.app_configs.get("canvas_core")
    return config is not None and config.name == "canvas_core"


def job_database() -> str:
    """The database workers keep their ledger and dead letters in."""
    return router.db_for_write(BackgroundJob) or DEFAULT_DB_ALIAS


def _insert(
    model: type[Any],
    using: str,
    rows: Sequence[dict[str, Any]],
    *,
    ignore_conflicts: bool = False,
    then_commit: bool = False,
) -> bool:
    """INSERT ``rows`` (field name -> value, the model's defaults for the others) without the ORM's save.

    Not through ``save()`` or ``bulk_create()``: those emit canvas-core's own
    record events, and a background handler of every record's creation would
    then enqueue a job for each job, without end. It is also faster.

    ``then_commit``: where the driver takes several statements in one call
    (psycopg 3 with client-side binding, Django's default), send ``COMMIT``
    with the INSERT, saving the commit its round trip; return whether it did
    (the driver then knows the transaction ended, and its own commit is a no-op).
    """
    if not rows:
        return False
    connection = connections[using]
    given = frozenset(rows[0])
    if any(row.keys() != given for row in rows):  # rows of different shapes: each one names all fields
        given = frozenset(name for row in rows for name in row)
    shape = _insert_shape(model, connection, given, ignore_conflicts)
    values: list[Any] = []
    for row in rows:
        for name, prepare in shape.prepared:
            value = row[name] if name in row else shape.defaults[name]()
            values.append(value if prepare is None else prepare(value, connection))
    statement = shape.head + ", ".join([shape.group] * len(rows)) + shape.tail
    with connection.cursor() as cursor:
        committed = then_commit and _takes_several_statements(cursor.cursor)
        cursor.execute(statement + "; COMMIT" if committed else statement, values)
    return committed


@dataclass(frozen=True)
class _InsertShape:
    """How to INSERT rows that give one set of fields: the statement's parts and how to adapt each value."""

    head: str
    """``INSERT INTO table (columns) VALUES `` (each column once, in the model's order)."""
    group: str
    """One row's ``(...)``: a placeholder per value passed, the constant defaults written out."""
    tail: str
    prepared: tuple[tuple[str, Callable[[Any, Any], Any] | None], ...]
    """(field name, what adapts its value, None when nothing needs to) for each placeholder, in order."""
    defaults: dict[str, Callable[[], Any]]
    """The default of each passed field a row may leave out."""


_insert_shapes: dict[tuple[Any, ...], _InsertShape] = {}


def _insert_shape(model: type[Any], connection: Any, given: frozenset[str], ignore_conflicts: bool) -> _InsertShape:
    """The statement shape for ``model`` rows giving ``given`` fields, on this connection's backend (cached).

    Worked out once, not per job: Django's ``get_db_prep_save`` for each of ten
    fields, and the driver's quoting of each value, cost more than the rest of
    staging a job. A field no row gives and whose default is ``None``, an int
    or ``""`` is written out in the statement; strings passed to text columns
    go to the driver as they are.
    """
    key = (model, connection.alias, connection.vendor, given, ignore_conflicts)
    shape = _insert_shapes.get(key)
    if shape is not None:
        return shape
    fields = list(model._meta.concrete_fields)
    ops = connection.ops
    placeholders: list[str] = []
    prepared: list[tuple[str, Callable[[Any, Any], Any] | None]] = []
    defaults: dict[str, Callable[[], Any]] = {}
    for field in fields:
        if field.name not in given and not callable(field.default):
            constant = field.get_default()
            literal = _literal(constant)
            if literal is not None:
                placeholders.append(literal)
                continue
        placeholders.append("%s")
        defaults[field.name] = field.get_default  # for the rows that leave it out
        text = field.get_internal_type() in {"CharField", "TextField"}
        prepared.append((field.name, _as_text if text else field.get_db_prep_save))
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    names = ", ".join(ops.quote_name(field.column) for field in fields)
    table = ops.quote_name(model._meta.db_table)
    shape = _InsertShape(
        head=f"{ops.insert_statement(on_conflict=on_conflict)} {table} ({names}) VALUES ",
        group=f"({', '.join(placeholders)})",
        tail=" " + (ops.on_conflict_suffix_sql(fields, on_conflict, [], []) or ""),
        prepared=tuple(prepared),
        defaults=defaults,
    )
    _insert_shapes[key] = shape
    return shape


def _literal(value: object) -> str | None:
    """``value`` as SQL any backend reads, for the few constants defaults take; None for anything else."""
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if value == "" and type(value) is str:
        return "''"
    return None


def _as_text(value: Any, connection: Any) -> Any:
    # What CharField.get_db_prep_save does (str() of anything but None), without its calls.
    return value if type(value) is str or value is None else str(value)


def _takes_several_statements(cursor: object) -> bool:
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(cursor, psycopg.ClientCursor)


def _delete(model: type[Any], using: str, ids: Sequence[uuid.UUID]) -> int:
    """DELETE rows by primary key without the ORM's delete (which emits record events, see :func:`_insert`)."""
    if not ids:
        return 0
    connection = connections[using]
    key = model._meta.pk
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} "
            f"WHERE {connection.ops.quote_name(key.column)} IN ({placeholders})",
            [key.get_db_prep_value(value, connection) for value in ids],
        )
        deleted: int = cursor.rowcount
    return deleted


def stage(job: Job, using: str, relay: Relay) -> None:
    """Have ``job`` written to the outbox in the current transaction of ``using``; ``relay`` publishes it after.

    Inside ``atomic()`` the row is not inserted at once: the job waits as an
    ``on_commit`` callback of the connection, and every such job of the
    transaction is inserted in one statement right before its COMMIT (see
    :func:`_commit_writing_the_outbox`). A job staged under a savepoint that
    rolls back is dropped with the callback, by Django; a failing INSERT fails
    the commit, so the data is never committed without its jobs. Outside a
    transaction (autocommit) the row is inserted at once.
    """
    staged = StagedJob(
        using,
        {
            "id": uuid.UUID(job.id),
            "handler": job.handler[:255],
            "event_type": job.event_type[:500],
            "payload": job.to_payload(),
            "created_at": timezone.now(),
        },
        relay,
    )
    connection = connections[using]
    if connection.in_atomic_block:
        _install_commit_hook()
    connection.on_commit(staged)  # transaction.on_commit(); in autocommit mode Django calls it at once


class StagedJob:
    """An outbox row that waits for its transaction's commit, as one of the connection's ``on_commit`` callbacks."""

    __slots__ = ("relay", "row", "using", "written")

    def __init__(self, using: str, row: dict[str, Any], relay: Relay) -> None:
        self.using = using
        self.row = row
        self.relay = relay
        self.written = False

    def __call__(self) -> None:
        """After the commit: hand the job to the relay (inserting it first where no commit did, see below)."""
        if not self.written:
            # Autocommit mode (Django runs the callback at once), or a test's
            # captured on_commit callbacks of a transaction that never commits.
            write_staged(self.using, [self])
        self.relay.notify(self.using, str(self.row["id"]))


def write_staged(using: str, staged: Sequence[StagedJob], *, then_commit: bool = False) -> None:
    """INSERT the rows of ``staged`` (few statements: as many rows in each as the database takes).

    ``then_commit``: the transaction's COMMIT may go with the last INSERT (see :func:`_insert`).
    """
    connection = connections[using]
    # The backend's limit (SQLite: 999 variables), and never above 10,000 values a statement (PostgreSQL's
    # server-side binding takes 65,535).
    size = max(min(connection.ops.bulk_batch_size(list(BackgroundJob._meta.concrete_fields), list(staged)), 1000), 1)
    for start in range(0, len(staged), size):
        last = start + size >= len(staged)
        _insert(
            BackgroundJob, using, [job.row for job in staged[start : start + size]], then_commit=then_commit and last
        )
    for job in staged:
        job.written = True


_commit_hook_lock = threading.Lock()


def _install_commit_hook() -> None:
    """Have every COMMIT of a Django connection first insert the jobs staged in its transaction (once)."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    if getattr(BaseDatabaseWrapper.commit, "writes_the_outbox", False):
        return
    with _commit_hook_lock:
        if getattr(BaseDatabaseWrapper.commit, "writes_the_outbox", False):
            return
        commit = BaseDatabaseWrapper.commit

        @functools.wraps(commit)
        def _commit_writing_the_outbox(self: BaseDatabaseWrapper) -> None:
            # Django has no hook before COMMIT: the jobs of the transaction are
            # its connection's StagedJob callbacks that are still pending (those
            # of rolled-back savepoints and failed handlers are gone already).
            staged = [entry[1] for entry in self.run_on_commit if type(entry[1]) is StagedJob and not entry[1].written]
            if staged:
                # A failure propagates from commit() as a DatabaseError, on which atomic() rolls back.
                try:
                    write_staged(self.alias, staged, then_commit=True)
                except DatabaseError:
                    raise
                except Exception as exc:
                    raise DatabaseError(
                        f"canvas-core could not write the transaction's background jobs ({type(exc).__qualname__})"
                    ) from exc
            commit(self)

        _commit_writing_the_outbox.writes_the_outbox = True  # type: ignore[attr-defined]
        BaseDatabaseWrapper.commit = _commit_writing_the_outbox  # type: ignore[method-assign]


def load(using: str, ids: Sequence[str]) -> dict[str, Any]:
    """The payloads of those of ``ids`` that are outbox jobs, by id."""
    valid = [value for value in (_uuid(i) for i in ids) if value is not None]
    rows = BackgroundJob.objects.using(using).filter(id__in=valid, payload__isnull=False)
    return {str(job_id): payload for job_id, payload in rows.values_list("id", "payload")}


def finished(using: str, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` whose jobs finished (done or dead-lettered)."""
    valid = [value for value in (_uuid(i) for i in ids) if value is not None]
    if not valid:
        return set()
    rows = BackgroundJob.objects.using(using).filter(id__in=valid, finished_at__isnull=False)
    return {str(job_id) for job_id in rows.values_list("id", flat=True)}


def begin(using: str, jobs: Sequence[Job]) -> dict[str, Delivery]:
    """Count a delivery of each job (creating ledger rows for jobs that did not go through the outbox)."""
    ids = [uuid.UUID(job.id) for job in jobs]
    manager = BackgroundJob.objects.using(using)
    with transaction.atomic(using=using):
        _relaxed_commit(using)
        known = set(manager.filter(id__in=ids).values_list("id", flat=True))
        new = [
            {"id": uuid.UUID(job.id), "handler": job.handler[:255], "event_type": job.event_type[:500]}
            for job in jobs
            if uuid.UUID(job.id) not in known
        ]
        _insert(BackgroundJob, using, new, ignore_conflicts=True)
        manager.filter(id__in=ids, finished_at__isnull=True).update(deliveries=F("deliveries") + 1)
        rows = manager.filter(id__in=ids).values_list("id", "deliveries", "attempts", "finished_at")
        return {
            str(job_id): Delivery(finished=finished_at is not None, lost=max(deliveries - attempts - 1, 0))
            for job_id, deliveries, attempts, finished_at in rows
        }


def _relaxed_commit(using: str) -> None:
    """On PostgreSQL, have the current transaction commit without waiting for the WAL flush.

    The ledger's writes must survive the worker, not the database server: a
    server crash may forget the last instants of them (jobs would run again, as
    at-least-once allows), and each job costs no disk flush.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def attempt_ended(using: str, job_ids: Iterable[str]) -> None:
    """Record that a run of each job ended (it failed, or was handed on), rather than killing the worker."""
    with transaction.atomic(using=using):
        _relaxed_commit(using)
        BackgroundJob.objects.using(using).filter(id__in=list(job_ids)).update(attempts=F("attempts") + 1)


def finish(using: str, job_ids: Sequence[str], outcome: str = "done") -> None:
    """Record that the jobs finished: a redelivery of them will not run."""
    if not job_ids:
        return
    with transaction.atomic(using=using):
        _relaxed_commit(using)
        BackgroundJob.objects.using(using).filter(id__in=list(job_ids)).update(
            finished_at=timezone.now(), outcome=outcome, attempts=F("attempts") + 1
        )


def dead_letter(
    using: str,
    *,
    job_id: str,
    handler: str,
    event_type: str,
    reason: str,
    payload: dict[str, Any] | None,
    deliveries: int = 0,
) -> str:
    """Keep a job no worker could complete; return the dead letter's id."""
    letter_id = uuid.uuid4()
    row = {
        "id": letter_id,
        "job_id": job_id[:64],
        "handler": handler[:255],
        "event_type": event_type[:500],
        "reason": reason,
        "payload": payload,
        "deliveries": deliveries,
        "created_at": timezone.now(),
    }
    with transaction.atomic(using=using):
        _insert(DeadLetter, using, [row])
        if _uuid(job_id) is not None:
            BackgroundJob.objects.using(using).filter(id=job_id).update(
                finished_at=timezone.now(), outcome="dead-lettered", payload=None
            )
    return str(letter_id)


def dead_letters(using: str) -> list[DeadLetter]:
    """Every dead letter, oldest first."""
    return list(DeadLetter.objects.using(using).order_by("created_at"))


def discard(using: str, ids: Sequence[str] | None) -> int:
    """Delete the given dead letters (all of them for ``None``); return how many were deleted."""
    letters = DeadLetter.objects.using(using)
    if ids is not None:
        letters = letters.filter(id__in=[value for value in (_uuid(i) for i in ids) if value is not None])
    return _delete(DeadLetter, using, list(letters.values_list("id", flat=True)))


def relay_pending(
    publish: Publish, *, using: str | None = None, older_than: float = 10.0, batch_size: int = 500
) -> int:
    """Publish outbox jobs committed more than ``older_than`` seconds ago and never published; return how many.

    The rows are locked while they are published (``SELECT ... FOR UPDATE SKIP
    LOCKED`` where the database supports it), so several relays may run at
    once: each publishes other jobs. A job the committing process is about to
    publish itself may be published twice; workers run it once.
    """
    using = using or job_database()
    cutoff = timezone.now() - dt.timedelta(seconds=older_than)
    manager = BackgroundJob.objects.using(using)
    total = 0
    while True:
        with transaction.atomic(using=using):
            _relaxed_commit(using)
            pending = manager.filter(published_at__isnull=True, payload__isnull=False, created_at__lte=cutoff)
            ids = [
                str(job_id)
                for job_id in pending.select_for_update(skip_locked=True)
                .order_by("created_at")
                .values_list("id", flat=True)[:batch_size]
            ]
            if not ids:
                return total
            publish(using, ids)  # a failure rolls back: the jobs stay pending
            manager.filter(id__in=ids).update(published_at=timezone.now())
        total += len(ids)


class Relay:
    """Publishes committed outbox jobs from a thread of this process, so that the committer does not wait.

    Ids are published in batches of what accumulated meanwhile (one message
    and one UPDATE per batch). A job whose publication fails (broker down)
    stays in the outbox for :func:`relay_pending`; so does one this process
    dies before publishing. The thread keeps its database connection while
    jobs keep coming (opening one costs more than publishing a batch) and
    closes it after :attr:`idle_timeout` seconds without work.
    """

    idle_timeout = 2.0
    batch_interval = 0.05
    """Seconds between the starts of two publications under load: a job committed soon after a publication
    waits at most this long, and the jobs of that time go in one message (an idle relay publishes at once)."""

    def __init__(self, publish: Publish, *, batch_size: int = 200) -> None:
        self._publish = publish
        self._batch_size = batch_size
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._relaxed: dict[str, object] = {}  # database -> the DB-API connection made to commit without a flush

    def notify(self, using: str, job_id: str) -> None:
        """Publish ``job_id`` (committed on ``using``) soon."""
        self._queue.put((using, job_id))
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="canvas-core relay", daemon=True)
                    self._thread.start()
                    # A short-lived process (a management command, a script)
                    # publishes its jobs before it exits, not 10 s later by
                    # the recovery relay.
                    atexit.register(self.flush, timeout=EXIT_FLUSH_TIMEOUT)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every job notified so far was published (or its publication failed); ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def _run(self) -> None:
        last_publication = 0.0
        while True:
            try:
                first = self._queue.get(timeout=self.idle_timeout if self._relaxed else None)
            except queue.Empty:
                self._close_connections()
                continue
            taken = [first]
            # Sleep rather than wake for each job that comes meanwhile: every
            # wake-up would take the GIL from the committing threads.
            wait = last_publication + self.batch_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            while len(taken) < self._batch_size:
                try:
                    taken.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            last_publication = time.monotonic()
            try:
                self.publish_now(taken)
            finally:
                for _ in taken:
                    self._queue.task_done()

    def _close_connections(self) -> None:
        for using in list(self._relaxed):
            connections[using].close()  # this thread's connection; a new one is opened when needed
        self._relaxed.clear()

    def publish_now(self, jobs: Sequence[tuple[str, str]]) -> None:
        """Publish ``(database, id)`` pairs and mark them published; log (without values) a failure."""
        by_database: dict[str, list[str]] = {}
        for using, job_id in jobs:
            by_database.setdefault(using, []).append(job_id)
        for using, ids in by_database.items():
            try:
                self._publish(using, ids)
                self._mark_published(using, ids)
            except Exception as exc:
                logger.warning(
                    "Could not publish %d background job(s) after commit (%s); they wait in the outbox for "
                    "`manage.py canvas_relay` or `canvas-events relay`",
                    len(ids),
                    type(exc).__qualname__,
                )
                if threading.current_thread() is self._thread:
                    connections[using].close()  # perhaps broken; a new one is opened when needed
                    self._relaxed.pop(using, None)

    def _mark_published(self, using: str, ids: list[str]) -> None:
        """One autocommitted UPDATE; in the relay thread, on a connection that commits without a WAL flush.

        A mark forgotten by a database crash only means publishing again, which workers absorb.
        """
        connection = connections[using]
        if threading.current_thread() is self._thread and connection.vendor == "postgresql":
            connection.ensure_connection()
            if self._relaxed.get(using) is not connection.connection:
                with connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO OFF")  # this thread's own connection only
                self._relaxed[using] = connection.connection
        elif threading.current_thread() is self._thread:
            self._relaxed[using] = True  # (closed when idle all the same)
        BackgroundJob.objects.using(using).filter(id__in=ids).update(published_at=timezone.now())


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def replay(using: str, ids: Sequence[str] | None, engine: Any) -> list[Replayed]:
    """Re-validate dead letters against this process's classes and enqueue each that fits as a new job.

    A replayed dead letter is deleted in the transaction that enqueues it; one
    that still does not fit, or that came from an untrusted message (no
    payload), stays with the reason.
    """
    from dataclasses import replace

    from ._registrations import rebuild
    from ._serialization import JobRejected, RecordNotFound, describe_error

    letters = DeadLetter.objects.using(using).order_by("created_at")
    if ids is not None:
        letters = letters.filter(id__in=[value for value in (_uuid(i) for i in ids) if value is not None])
    outcomes: list[Replayed] = []
    for letter in letters:
        if letter.payload is None:
            outcomes.append(Replayed(str(letter.id), None, "not replayable: it came from a message nobody vouches for"))
            continue
        try:
            job = Job.from_payload(letter.payload)
            rebuild(job)
        except (JobRejected, RecordNotFound) as exc:
            outcomes.append(Replayed(str(letter.id), None, describe_error(exc)))
            continue
        fresh = replace(job, id=str(uuid.uuid4()))
        with transaction.atomic(using=using):
            staged = getattr(engine, "enqueue_in_transaction", None)
            if staged is None or not staged(fresh, using):
                transaction.on_commit(lambda fresh=fresh: engine.enqueue(fresh), using=using)  # type: ignore[misc]
            _delete(DeadLetter, using, [letter.id])
        outcomes.append(Replayed(str(letter.id), fresh.id, None))
    relay = getattr(engine, "relay", None)
    if relay is not None:
        relay().flush()
    return outcomes


class DjangoLedger:
    """The :class:`~canvas_core.background.ledger.Ledger` kept in the ``canvas_core`` tables of database ``using``."""

    def __init__(self, using: str) -> None:
        self.using = using

    def __repr__(self) -> str:
        return f"DjangoLedger({self.using!r})"

    def begin(self, jobs: Sequence[Job]) -> dict[str, Delivery]:
        return begin(self.using, jobs)

    def attempt_ended(self, job_ids: Iterable[str]) -> None:
        attempt_ended(self.using, job_ids)

    def finish(self, job_ids: Sequence[str]) -> None:
        finish(self.using, job_ids)

    def dead_letter(self, job: Job | None, *, job_id: str, reason: str, deliveries: int = 0) -> str:
        return dead_letter(
            self.using,
            job_id=job_id,
            handler=job.handler if job is not None else "",
            event_type=job.event_type if job is not None else "",
            reason=reason,
            payload=job.to_payload() if job is not None else None,
            deliveries=deliveries,
        )

    def dead_letters(self) -> list[StoredDeadLetter]:
        return [
            StoredDeadLetter(
                id=str(letter.id),
                job_id=letter.job_id,
                handler=letter.handler,
                event_type=letter.event_type,
                reason=letter.reason,
                deliveries=letter.deliveries,
                created_at=letter.created_at,
                replayable=letter.replayable,
            )
            for letter in dead_letters(self.using)
        ]

    def discard(self, ids: Sequence[str] | None) -> int:
        return discard(self.using, ids)

    def replay(self, ids: Sequence[str] | None, engine: Any) -> list[Replayed]:
        return replay(self.using, ids, engine)
