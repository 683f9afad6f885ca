"""What background handlers cost: the emitter's side, and a worker's throughput.

Not part of the default test run; needs Redis on 127.0.0.1:6379. Run with:

    .venv/bin/python -m pytest tests/benchmarks/test_background_benchmark.py --benchmark-group-by=group -s

``emitter`` compares an emission with one no-op synchronous handler against one
whose single handler runs in the background (serialize, then enqueue to Redis
through Celery). ``throughput`` pushes 10,000 background events through one
worker process and prints events per second.
"""

from __future__ import annotations

import time
import uuid

from pytest_benchmark.fixture import BenchmarkFixture

from canvas_core import background, events
from canvas_core.background.celery import CeleryEngine
from tests.background import handlers
from tests.background.celery_app import make_app
from tests.background.conftest import Worker, wait_for

THROUGHPUT_EVENTS = 10_000


def noop(event: handlers.Ping) -> None:
    pass


def test_emitter_with_one_sync_noop_handler(benchmark: BenchmarkFixture) -> None:
    benchmark.group = "emitter"
    events.handle_event(handlers.Ping)(noop)
    benchmark(events.emit_event, handlers.Ping, token="t", n=1)


def test_emitter_with_one_background_handler(benchmark: BenchmarkFixture, celery_worker: Worker) -> None:
    """The worker is busy elsewhere (queue paused by not consuming): only the emitter's cost counts."""
    benchmark.group = "emitter"
    app = make_app()
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
    benchmark.group = "throughput"
    background.use_engine(CeleryEngine(make_app()))
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
            f"all handled after {done - start:.2f}s: {THROUGHPUT_EVENTS / (done - start):,.0f} events/s end to end"
        )

    benchmark.pedantic(run, rounds=1, iterations=1)  # type: ignore[no-untyped-call]
