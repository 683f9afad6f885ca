"""QuerySet.update() with update events against plain Django's update(), and what the emission context costs.

Run (SQLite in memory; add CANVAS_TEST_DATABASE=postgres and CANVAS_TEST_POSTGRES_URL for PostgreSQL)::

    .venv/bin/python -m pytest tests/benchmarks/test_write_coverage.py -o addopts="" \\
        --ds=tests.benchmarks.settings -s -p no:randomly

Each measurement is the best of interleaved rounds, printed as a ratio to plain
Django; the interleaving keeps ratios meaningful on a busy machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F

from canvas_core import events

from .benchapp.models import CanvasRow, PlainRow, Row, handled

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 1_000
ROUNDS = 15


class Ping(events.Event):
    pass


def _on_update(event: events.PostRecordUpdate[CanvasRow]) -> None:
    handled.append(event.diff)


@pytest.fixture(autouse=True)
def _handler() -> Iterator[None]:
    events.handle_event(events.PostRecordUpdate, origin=CanvasRow)(_on_update)
    yield
    events.remove_handler(_on_update)
    handled.clear()


def _fill(model: type[Row]) -> None:
    model._default_manager.bulk_create(model(name=f"row {i}", count=i, metadata={}) for i in range(ROWS))


def _best(rounds: int, runs: dict[str, Callable[[], Any]]) -> dict[str, float]:
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            with transaction.atomic():
                run()
            best[name] = min(best[name], time.perf_counter() - start)
            handled.clear()
    return best


def _print(title: str, best: dict[str, float], base: str) -> None:
    print(f"\n{title} (best of {ROUNDS} interleaved rounds)")
    for name, seconds in best.items():
        print(f"  {name:<34} {seconds * 1000:8.2f} ms  {seconds / best[base]:5.2f}x")


def test_queryset_update_against_django(capsys: pytest.CaptureFixture[str]) -> None:
    _fill(PlainRow)
    _fill(CanvasRow)
    best = _best(
        ROUNDS,
        {
            "django update(count=F+1)": lambda: PlainRow._default_manager.update(count=F("count") + 1),
            "canvas-core update(count=F+1)": lambda: CanvasRow._default_manager.update(count=F("count") + 1),
            "django update(name=...)": lambda: PlainRow._default_manager.update(name="x"),
            "canvas-core update(name=...)": lambda: CanvasRow._default_manager.update(name="x"),
        },
    )
    events.remove_handler(_on_update)
    unwired = _best(
        ROUNDS,
        {
            "django update(count=F+1)": lambda: PlainRow._default_manager.update(count=F("count") + 1),
            "unwired model update(count=F+1)": lambda: CanvasRow._default_manager.update(count=F("count") + 1),
        },
    )
    with capsys.disabled():
        _print(f"QuerySet.update() of {ROWS:,} rows, one PostRecordUpdate handler", best, "django update(count=F+1)")
        _print("the same model with no handler", unwired, "django update(count=F+1)")


def test_what_the_context_costs(capsys: pytest.CaptureFixture[str]) -> None:
    events.handle_event(Ping)(lambda event: None)
    emit = events.emit_event

    def plain() -> None:
        for _ in range(10_000):
            emit(Ping)

    def in_context() -> None:
        with events.context(actor="auth.user:1", request_id="r"):
            for _ in range(10_000):
                emit(Ping)

    best = _best(ROUNDS, {"10,000 emissions": plain, "10,000 emissions in a context": in_context})
    with capsys.disabled():
        _print("emission context, unread by handlers", best, "10,000 emissions")
