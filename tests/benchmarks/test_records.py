"""Record events against plain Django and the peers: loading rows, and saving loaded rows.

Run (SQLite in memory; the benchmarks are left out of the normal test run)::

    .venv/bin/python -m pytest tests/benchmarks/test_records.py -o addopts="" \\
        --ds=tests.benchmarks.settings -s --benchmark-group-by=group --benchmark-columns=min,median

and against PostgreSQL (the test suite's variables; skipped, with the reason, without a server)::

    CANVAS_TEST_DATABASE=postgres CANVAS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python -m pytest -p tests.postgres tests/benchmarks/test_records.py -o addopts="" \\
        --ds=tests.benchmarks.settings -s -k against_django

``test_against_django_receivers`` is the comparison the performance guide
reports: canvas-core against plain Django with receivers doing the same
trivial work on the same occasions (see its docstring).

The same work for each library:

* ``load``: read 10,000 rows, with an update handler registered (so that each
  library keeps what it needs for the next diff);
* ``save``: change and save 1,000 loaded rows, with one update handler that
  receives the change (plain Django: a ``post_save`` receiver, which gets no
  diff at all).

pytest-benchmark times each library in turn. ``test_side_by_side`` also
interleaves the libraries round by round and prints each one's best time as a
ratio to plain Django, which stays meaningful on a busy machine.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.deletion import Collector
from django.db.models.signals import ModelSignal, post_delete, post_init, post_save, pre_delete, pre_save
from django.db.models.sql import UpdateQuery

from canvas_core import events
from canvas_core.django import _updates, _wiring

from .benchapp.models import (
    CanvasRow,
    DirtyRow,
    EventDeleteRow,
    EventRow,
    LifecycleRow,
    PlainRow,
    ReceiverDeleteRow,
    ReceiverRow,
    Row,
    handled,
)

pytestmark = pytest.mark.django_db(transaction=True)

LOAD_ROWS = 10_000
SAVES = 1_000
MODELS: dict[str, type[Row]] = {
    "django": PlainRow,
    "canvas-core": CanvasRow,
    "django-lifecycle": LifecycleRow,
    "django-dirtyfields": DirtyRow,
}


def _on_plain_save(sender: type[Model], instance: Model, created: bool, **kwargs: Any) -> None:
    if not created:
        handled.append(instance)


def _on_dirty_save(sender: type[Model], instance: DirtyRow, **kwargs: Any) -> None:
    if not instance._state.adding:
        handled.append(instance.get_dirty_fields(verbose=True))


def _on_canvas_update(event: events.PostRecordUpdate[CanvasRow]) -> None:
    handled.append(event.diff)


@pytest.fixture(autouse=True)
def _handlers() -> Iterator[None]:
    post_save.connect(_on_plain_save, sender=PlainRow)
    pre_save.connect(_on_dirty_save, sender=DirtyRow)
    events.handle_event(events.PostRecordUpdate, origin=CanvasRow)(_on_canvas_update)
    yield
    post_save.disconnect(_on_plain_save, sender=PlainRow)
    pre_save.disconnect(_on_dirty_save, sender=DirtyRow)
    handled.clear()


def _fill(model: type[Row], rows: int) -> None:
    model._default_manager.bulk_create(
        model(name=f"row {i}", count=i, metadata={"tags": ["a", "b"], "size": i}) for i in range(rows)
    )


def _load(model: type[Row]) -> list[Row]:
    return list(model._default_manager.all())


def _changed_rows(model: type[Row]) -> list[Row]:
    handled.clear()
    rows = list(model._default_manager.all()[:SAVES])
    for row in rows:
        row.count += 1
    return rows


def _save_all(rows: list[Row]) -> None:
    for row in rows:
        row.save()


@pytest.mark.parametrize("library", list(MODELS))
@pytest.mark.benchmark(group="load 10,000 rows")
def test_load(benchmark: Any, library: str) -> None:
    model = MODELS[library]
    _fill(model, LOAD_ROWS)
    rows = benchmark.pedantic(_load, args=(model,), rounds=20, warmup_rounds=2)
    assert len(rows) == LOAD_ROWS


@pytest.mark.parametrize("library", list(MODELS))
@pytest.mark.benchmark(group="1,000 saves of loaded rows, one update handler")
def test_save(benchmark: Any, library: str) -> None:
    model = MODELS[library]
    _fill(model, SAVES)
    benchmark.pedantic(_save_all, setup=lambda: ((_changed_rows(model),), {}), rounds=20, warmup_rounds=1)
    assert len(handled) == SAVES


def _best_of_interleaved(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for library, run in runs.items():
            best[library] = min(best[library], run())
    return best


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _timed_saves(model: type[Row]) -> float:
    rows = _changed_rows(model)
    elapsed = _timed(lambda: _save_all(rows))
    assert len(handled) == SAVES
    return elapsed


def test_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    for model in MODELS.values():
        _fill(model, LOAD_ROWS)

    def load(model: type[Row]) -> Callable[[], float]:
        return lambda: _timed(lambda: _load(model))

    def save(model: type[Row]) -> Callable[[], float]:
        return lambda: _timed_saves(model)

    results = {
        "load 10,000 rows": _best_of_interleaved(25, {name: load(model) for name, model in MODELS.items()}),
        "1,000 saves of loaded rows": _best_of_interleaved(25, {name: save(model) for name, model in MODELS.items()}),
    }
    lines = ["", "best of 25 interleaved rounds (ratio to plain Django)"]
    for work, best in results.items():
        lines.append(f"  {work}:")
        for library, seconds in best.items():
            lines.append(f"    {library:<20} {seconds * 1000:8.1f} ms  {seconds / best['django']:5.2f}x")
    with capsys.disabled():
        print("\n".join(lines))


# -- canvas-core against plain Django with equivalent receivers ----------------------------------------

ROWS = 1_000
ROUNDS = int(os.environ.get("CANVAS_BENCH_ROUNDS", "21"))  # CANVAS_BENCH_ONLY=delete: only those
touched = [0]


def _touch(instance: Model) -> None:
    touched[0] += 1  # the same trivial work for every receiver and handler


def _on_signal(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    _touch(instance)


def _on_record_event(event: events.RecordEvent[Any]) -> None:
    _touch(event.record)


@pytest.fixture
def _receivers() -> Iterator[None]:
    receivers: list[tuple[ModelSignal, type[Row]]] = [(post_init, ReceiverRow), (post_save, ReceiverRow)]
    receivers += [(signal, model) for signal in (pre_delete, post_delete) for model in (ReceiverRow, ReceiverDeleteRow)]
    kinds: tuple[type[events.RecordEvent[Any]], ...] = (events.PostRecordCreate, events.PostRecordUpdate)
    handlers: list[tuple[type[events.RecordEvent[Any]], type[Row]]] = [(kind, EventRow) for kind in kinds]
    deletes: tuple[type[events.RecordEvent[Any]], ...] = (events.PreRecordDelete, events.PostRecordDelete)
    handlers += [(kind, model) for kind in deletes for model in (EventRow, EventDeleteRow)]
    for signal, sender in receivers:
        signal.connect(_on_signal, sender=sender)
    for kind, origin in handlers:
        events.handle_event(kind, origin=origin)(_on_record_event)
    yield
    for signal, sender in receivers:
        signal.disconnect(_on_signal, sender=sender)
    events.remove_handler(_on_record_event)


@contextmanager
def _plain_django() -> Iterator[None]:
    """Django's own ORM methods in place of canvas-core's wrappers: the baseline is Django without canvas-core."""
    originals = [
        (Model, "from_db", classmethod(_wiring._django_from_db)),
        (Model, "save_base", _wiring._django_save_base),
        (Model, "refresh_from_db", _wiring._django_refresh_from_db),
        (QuerySet, "bulk_create", _wiring._django_bulk_create),
        (QuerySet, "bulk_update", _wiring._django_bulk_update),
        (QuerySet, "update", _updates._django_update),
        (UpdateQuery, "update_batch", _updates._django_update_batch),
        (Collector, "delete", getattr(_wiring, "_django_collector_delete", Collector.delete)),
    ]
    wrappers = [(owner, name, owner.__dict__[name]) for owner, name, _ in originals]
    for owner, name, original in originals:
        setattr(owner, name, original)
    try:
        yield
    finally:
        for owner, name, wrapper in wrappers:
            setattr(owner, name, wrapper)


def _unwrapped(run: Callable[[], float]) -> Callable[[], float]:
    def unwrapped() -> float:
        with _plain_django():
            return run()

    return unwrapped


def _clear(model: type[Row]) -> None:
    model._base_manager.all()._raw_delete(connection.alias)  # no signals, no events


def _new_rows(model: type[Row], rows: int = ROWS) -> list[Row]:
    return [model(name=f"row {i}", count=i, metadata={"tags": ["a", "b"], "size": i}) for i in range(rows)]


def _scenarios(
    plain: type[Row], canvas: type[Row], deleting: type[Row], canvas_deleting: type[Row], bare: type[Row]
) -> dict[str, dict[str, Callable[[], float]]]:
    """Work -> library -> one timed round (its set-up untimed)."""

    def load(model: type[Row]) -> Callable[[], float]:
        def run() -> float:
            if model._base_manager.count() != LOAD_ROWS:
                _clear(model)
                model._base_manager.bulk_create(_new_rows(model, LOAD_ROWS))
            return _timed_round(lambda: _load(model), expect=LOAD_ROWS if model is plain else 0)

        return run

    def save(model: type[Row]) -> Callable[[], float]:
        def run() -> float:
            _ensure(model, ROWS)
            rows = list(model._base_manager.all()[:ROWS])
            for row in rows:
                row.count += 1
            return _timed_round(lambda: _save_all(rows), expect=ROWS)

        return run

    def create(model: type[Row]) -> Callable[[], float]:
        def run() -> float:
            _clear(model)
            manager = model._default_manager
            # Django's post_init receiver runs for each new instance too: 2 calls a row.
            expect = 2 * ROWS if model is plain else ROWS

            def create_all() -> None:
                for i in range(ROWS):
                    manager.create(name=f"row {i}", count=i, metadata={"tags": ["a", "b"], "size": i})

            return _timed_round(create_all, expect=expect)

        return run

    def bulk_update(model: type[Row]) -> Callable[[], float]:
        def run() -> float:
            _ensure(model, ROWS)
            rows = list(model._base_manager.all()[:ROWS])
            for row in rows:
                row.count += 1
            # Django's bulk_update sends no signal: its receivers do nothing here.
            expect = 0 if model is plain else ROWS
            return _timed_round(
                lambda: model._default_manager.bulk_update(rows, ["name", "count", "metadata"]), expect=expect
            )

        return run

    def delete(model: type[Row], calls_per_row: int) -> Callable[[], float]:
        def run() -> float:
            _clear(model)
            model._base_manager.bulk_create(_new_rows(model))
            return _timed_round(lambda: model._default_manager.all().delete(), expect=calls_per_row * ROWS)

        return run

    return {
        f"load {LOAD_ROWS:,} rows (update handlers / post_init)": {"django": load(plain), "canvas-core": load(canvas)},
        f"load {LOAD_ROWS:,} rows (update handlers / no receiver)": {
            "django": load(bare),
            "canvas-core": load(canvas),
        },
        f"{ROWS:,} saves of loaded rows": {"django": save(plain), "canvas-core": save(canvas)},
        f"{ROWS:,} creates": {"django": create(plain), "canvas-core": create(canvas)},
        f"bulk_update of {ROWS:,} rows": {"django": bulk_update(plain), "canvas-core": bulk_update(canvas)},
        f"QuerySet.delete() of {ROWS:,} rows, delete handlers": {
            "django": delete(deleting, 2),
            "canvas-core": delete(canvas_deleting, 2),
        },
        f"QuerySet.delete() of {ROWS:,} rows, all handlers": {
            # Django: post_init, pre_delete and post_delete for each collected row.
            "django": delete(plain, 3),
            "canvas-core": delete(canvas, 2),
        },
    }


def _ensure(model: type[Row], rows: int) -> None:
    if model._base_manager.count() != rows:
        _clear(model)
        model._base_manager.bulk_create(_new_rows(model, rows))


def _timed_round(work: Callable[[], object], expect: int) -> float:
    touched[0] = 0
    gc.collect()
    elapsed = _timed(work)
    assert touched[0] == expect, (touched[0], expect)
    return elapsed


@pytest.mark.usefixtures("_receivers")
def test_against_django_receivers(capsys: pytest.CaptureFixture[str]) -> None:
    """canvas-core's record events against plain Django with equivalent signal receivers.

    Django runs without canvas-core's ORM wrappers (see ``_plain_django``), with
    post_init, post_save, pre_delete and post_delete receivers on one model
    (post_init is where a Django app keeps what it needs to tell what a save
    changed); canvas-core: PostRecordCreate, PostRecordUpdate, PreRecordDelete
    and PostRecordDelete handlers on the same table. Every receiver and handler
    does the same trivial work. The delete is also measured with delete
    receivers and handlers only, and the load against Django without any
    receiver (what it costs to keep what a diff needs, not just what Django's
    way of keeping it costs). The two libraries run one after the other in each
    round; printed are the median of the per-round ratios and the ratio of the
    best rounds.
    """
    results: dict[str, dict[str, list[float]]] = {}
    only = os.environ.get("CANVAS_BENCH_ONLY", "")  # a part of the work's name: run only those
    for work, runs in _scenarios(ReceiverRow, EventRow, ReceiverDeleteRow, EventDeleteRow, PlainRow).items():
        if only not in work:
            continue
        for run in runs.values():
            run()  # warm-up
        runs["django"] = _unwrapped(runs["django"])
        timings: dict[str, list[float]] = {library: [] for library in runs}
        for _ in range(ROUNDS):
            for library, run in runs.items():
                timings[library].append(run())
        results[work] = timings
    lines = [
        "",
        f"canvas-core against plain Django with equivalent receivers, {connection.vendor}, {ROUNDS} interleaved rounds",
        f"  {'work':<58} {'django best':>12} {'canvas best':>12} {'ratio median':>13} {'ratio best':>11}",
    ]
    for work, timings in results.items():
        plain, canvas = timings["django"], timings["canvas-core"]
        median_ratio = statistics.median(c / p for c, p in zip(canvas, plain, strict=True))
        lines.append(
            f"  {work:<58} {min(plain) * 1000:9.1f} ms {min(canvas) * 1000:9.1f} ms"
            f" {median_ratio:12.2f}x {min(canvas) / min(plain):10.2f}x"
        )
    with capsys.disabled():
        print("\n".join(lines))
