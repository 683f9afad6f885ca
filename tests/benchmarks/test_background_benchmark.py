"""What background handlers cost: the emitter's side, and a worker's throughput.

Not part of the default test run; needs Redis on 127.0.0.1:6379 (and RabbitMQ
and PostgreSQL for the outbox ones). Run with:

    .venv/bin/python -m pytest tests/benchmarks/test_background_benchmark.py --benchmark-group-by=group -s \
        -p no:randomly --benchmark-only

``emitter`` compares an emission with one no-op synchronous handler against one
whose single handler runs in the background, published directly (serialize,
sign, then enqueue through Celery). ``record-emitter`` saves a record in
``atomic()`` (its update event has one background handler): the job written
to the outbox versus published directly at the commit, against a no-op
synchronous handler; ``test_record_event_in_atomic_interleaved`` runs the three
in turn in one process and prints what each way adds (wall and CPU) and their
ratio. The outbox ones need a database the relay thread can share: PostgreSQL
(``CANVAS_TEST_DATABASE=postgres CANVAS_TEST_POSTGRES_URL=... -p tests.postgres``)
or a SQLite file (``--ds=tests.benchmarks.settings`` with
``CANVAS_BENCH_SQLITE_FILE=/tmp/bench.sqlite3``). ``throughput`` pushes 2,000 background events
through one worker process, signed messages and outbox batches, on each broker,
and prints events per second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection, transaction
from pytest_benchmark.fixture import BenchmarkFixture

from canvas_core import background, events
from canvas_core.background.celery import CeleryEngine
from tests.background import handlers
from tests.background.conftest import ROOT, Worker, wait_for
from tests.testapp.models import Author, Book

THROUGHPUT_EVENTS = 2_000
ROUNDS = 10
SAVES_PER_ROUND = 200


def noop(event: handlers.Ping) -> None:
    pass


def test_emitter_with_one_sync_noop_handler(benchmark: BenchmarkFixture) -> None:
    benchmark.group = "emitter"
    events.handle_event(handlers.Ping)(noop)
    benchmark(events.emit_event, handlers.Ping, token="t", n=1)


def test_emitter_with_one_background_handler(benchmark: BenchmarkFixture, celery_worker: Worker) -> None:
    """The worker is busy elsewhere (queue paused by not consuming): only the emitter's cost counts."""
    benchmark.group = "emitter"
    app = celery_worker.app()
    app.conf.task_default_queue = f"{celery_worker.queue}-unconsumed"
    background.use_engine(CeleryEngine(app))
    events.handle_event(handlers.Ping, background=True)(handlers.count)
    try:
        # Explicit rounds: the first publish opens the broker connection, which
        # would make pytest-benchmark's calibration settle on a dozen rounds.
        benchmark.pedantic(  # type: ignore[no-untyped-call]
            events.emit_event,
            args=(handlers.Ping,),
            kwargs={"token": "t", "n": 1},
            rounds=2000,
            warmup_rounds=50,
        )
    finally:
        celery_worker.redis.delete(app.conf.task_default_queue)


def test_throughput_of_one_worker(benchmark: BenchmarkFixture, celery_worker: Worker) -> None:
    _throughput(benchmark, celery_worker, ledger=False)


def test_throughput_of_one_worker_with_a_redis_ledger(benchmark: BenchmarkFixture, ledger_worker: Worker) -> None:
    """The worker counts each job's delivery and records it finished in Redis."""
    _throughput(benchmark, ledger_worker, ledger=True)


def _throughput(benchmark: BenchmarkFixture, celery_worker: Worker, *, ledger: bool) -> None:
    """Signed messages, one job each."""
    benchmark.group = "throughput"
    background.use_engine(CeleryEngine(celery_worker.app()))
    events.handle_event(handlers.Ping, background=True)(handlers.count)
    counted = celery_worker.key("count")

    def run() -> None:
        token = uuid.uuid4().hex
        key = f"{counted}:{token}"
        start = time.perf_counter()
        for n in range(THROUGHPUT_EVENTS):
            events.emit_event(handlers.Ping, token=token, n=n)
        enqueued = time.perf_counter()
        wait_for(lambda: int(celery_worker.redis.get(key) or 0) >= THROUGHPUT_EVENTS, 600, "the worker to finish")
        done = time.perf_counter()
        print(
            f"\n{THROUGHPUT_EVENTS} background events: enqueued in {enqueued - start:.2f}s, "
            f"all handled after {done - start:.2f}s: {THROUGHPUT_EVENTS / (done - start):,.0f} events/s end to end "
            f"({celery_worker.broker_url.split(':')[0]}, signed messages{', Redis ledger' if ledger else ''})"
        )

    benchmark.pedantic(run, rounds=1, iterations=1)  # type: ignore[no-untyped-call]


def on_book(event: events.PostRecordUpdate[Book]) -> None:
    pass


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("engine", ["sync-handler", "outbox", "direct-publish"])
def test_record_event_in_atomic(benchmark: BenchmarkFixture, celery_worker: Worker, engine: str) -> None:
    """A record saved in ``atomic()`` whose update event has one background handler (or one no-op sync one).

    The emitter's cost of running the handler in the background is the
    difference to ``sync-handler`` (which pays for the event itself): the
    outbox row written in the transaction, or the message published at the
    commit.
    """
    benchmark.group = "record-emitter"
    if engine == "outbox" and connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        pytest.skip(
            "the shared in-memory SQLite test database locks tables across threads (the relay's); "
            "run this with CANVAS_TEST_DATABASE=postgres -p tests.postgres"
        )
    app = celery_worker.app()
    app.conf.task_default_queue = f"{celery_worker.queue}-unconsumed"
    celery_engine = CeleryEngine(app, outbox=engine == "outbox")
    background.use_engine(celery_engine)
    events.handle_event(events.PostRecordUpdate[Book], background=engine != "sync-handler")(on_book)
    book = Book.objects.create(title="Dune", author=Author.objects.create(name="Frank Herbert"))
    titles = iter(range(10**9))

    def save_in_atomic() -> None:
        with transaction.atomic():
            book.title = f"Dune {next(titles)}"
            book.save()

    try:
        benchmark.pedantic(save_in_atomic, rounds=1000, warmup_rounds=50)  # type: ignore[no-untyped-call]
        celery_engine.relay().flush()
    finally:
        celery_worker.redis.delete(app.conf.task_default_queue)


@pytest.mark.django_db(transaction=True)
def test_record_event_in_atomic_interleaved(benchmark: BenchmarkFixture, celery_worker: Worker) -> None:
    """What the outbox adds to a save in ``atomic()`` against what a direct publish adds, in one process.

    The three set-ups of :func:`test_record_event_in_atomic` run in turn, 200
    saves each per round, so that the machine's load hits them alike. Every
    save includes its transaction and COMMIT, so ``outbox - sync-handler`` and
    ``direct-publish - sync-handler`` are what each way of enqueueing adds.
    ``cpu`` counts all threads of the process (the relay's included),
    ``emitter thread cpu`` only the thread that saves.
    """
    benchmark.group = "record-emitter"
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        pytest.skip("the relay thread cannot share the in-memory SQLite test database; run it on PostgreSQL")
    app = celery_worker.app()
    app.conf.task_default_queue = f"{celery_worker.queue}-unconsumed"
    engines = {"outbox": CeleryEngine(app), "direct-publish": CeleryEngine(app, outbox=False)}
    book = Book.objects.create(title="Dune", author=Author.objects.create(name="Frank Herbert"))
    titles = iter(range(10**9))

    def save_in_atomic() -> None:
        with transaction.atomic():
            book.title = f"Dune {next(titles)}"
            book.save()

    wall: dict[str, list[float]] = {"sync-handler": [], **{name: [] for name in engines}}
    cpu: dict[str, list[float]] = {name: [] for name in wall}
    emitter_cpu: dict[str, list[float]] = {name: [] for name in wall}

    def run() -> None:
        for _ in range(ROUNDS):
            for name in wall:
                events.remove_handler(on_book)
                background.use_engine(engines.get(name, engines["direct-publish"]))
                events.handle_event(events.PostRecordUpdate[Book], background=name != "sync-handler")(on_book)
                for _ in range(20):
                    save_in_atomic()
                engines["outbox"].relay().flush()
                times = []
                started_cpu, started_thread = time.process_time(), time.thread_time()
                for _ in range(SAVES_PER_ROUND):
                    started = time.perf_counter()
                    save_in_atomic()
                    times.append(time.perf_counter() - started)
                emitter_cpu[name].append((time.thread_time() - started_thread) / SAVES_PER_ROUND)
                engines["outbox"].relay().flush()  # the relay's work counts for this set-up
                cpu[name].append((time.process_time() - started_cpu) / SAVES_PER_ROUND)
                wall[name].append(statistics.median(times))

    try:
        benchmark.pedantic(run, rounds=1, iterations=1)  # type: ignore[no-untyped-call]
    finally:
        celery_worker.redis.delete(app.conf.task_default_queue)
    print(f"\n{connection.vendor}, {celery_worker.broker_url.split(':')[0]}: µs per save in atomic()")
    for name in wall:
        print(
            f"  {name:15} wall median {statistics.median(wall[name]) * 1e6:7.0f} best {min(wall[name]) * 1e6:7.0f}"
            f"   cpu median {statistics.median(cpu[name]) * 1e6:7.0f} best {min(cpu[name]) * 1e6:7.0f}"
        )
    for measure, values in (("wall", wall), ("cpu", cpu), ("emitter thread cpu", emitter_cpu)):
        added = {name: statistics.median(values[name]) - statistics.median(values["sync-handler"]) for name in engines}
        best = {name: min(values[name]) - min(values["sync-handler"]) for name in engines}
        print(
            f"  {measure}: outbox adds {added['outbox'] * 1e6:.0f} µs, "
            f"direct publish {added['direct-publish'] * 1e6:.0f} µs: {added['outbox'] / added['direct-publish']:.2f}x "
            "(best of: "
            f"{best['outbox'] / best['direct-publish']:.2f}x)"
        )


def test_throughput_of_one_worker_from_the_outbox(benchmark: BenchmarkFixture, django_worker: Worker) -> None:
    """2,000 jobs committed in one transaction; the relay publishes them in batches."""
    benchmark.group = "throughput"

    def run() -> None:
        token = uuid.uuid4().hex
        emitted = subprocess.run(
            [sys.executable, "-m", "tests.background.emit", "many", token],
            cwd=ROOT,
            env={**django_worker.environment, "CANVAS_TEST_COUNT": str(THROUGHPUT_EVENTS)},
            capture_output=True,
            text=True,
            check=True,
        )
        committed = float(emitted.stdout.split("committed at ")[1].split()[0])
        key = django_worker.key("code-runs", token)
        wait_for(lambda: int(django_worker.redis.get(key) or 0) >= THROUGHPUT_EVENTS, 600, "the worker to finish")
        done = time.time()
        print(
            f"\n{THROUGHPUT_EVENTS} outbox jobs: all handled {done - committed:.2f}s after the commit: "
            f"{THROUGHPUT_EVENTS / (done - committed):,.0f} events/s ({django_worker.broker_url.split(':')[0]})"
        )

    benchmark.pedantic(run, rounds=1, iterations=1)  # type: ignore[no-untyped-call]
