"""Record events against plain Django and the peers: loading rows, and saving loaded rows.

Run (SQLite in memory; the benchmarks are left out of the normal test run)::

    .venv/bin/python -m pytest tests/benchmarks/test_records.py -o addopts="" \\
        --ds=tests.benchmarks.settings -s --benchmark-group-by=group --benchmark-columns=min,median

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

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db.models import Model
from django.db.models.signals import post_save, pre_save

from canvas_core import events

from .benchapp.models import CanvasRow, DirtyRow, LifecycleRow, PlainRow, Row, handled

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
