"""Record events against plain Django and the peers: loading rows, and saving loaded rows.

Run (SQLite; the benchmarks are left out of the normal test run)::

    .venv/bin/python -m pytest tests/benchmarks/test_records.py -o addopts="" \\
        --ds=tests.benchmarks.settings --benchmark-group-by=group --benchmark-columns=min,median,mean

Each group compares the same work: ``load`` reads 10,000 rows with an update
handler registered (so that each library keeps what it needs for the next
diff); ``save`` changes and saves 1,000 loaded rows, with one update handler
receiving the change.
"""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.mark.parametrize("library", list(MODELS))
@pytest.mark.benchmark(group="load 10,000 rows")
def test_load(benchmark: Any, library: str) -> None:
    model = MODELS[library]
    _fill(model, LOAD_ROWS)
    rows = benchmark.pedantic(lambda: list(model._default_manager.all()), rounds=20, warmup_rounds=2)
    assert len(rows) == LOAD_ROWS


@pytest.mark.parametrize("library", list(MODELS))
@pytest.mark.benchmark(group="1,000 saves of loaded rows, one update handler")
def test_save(benchmark: Any, library: str) -> None:
    model = MODELS[library]
    _fill(model, SAVES)

    def setup() -> tuple[tuple[list[Any]], dict[str, Any]]:
        handled.clear()
        rows = list(model._default_manager.all())
        for row in rows:
            row.count += 1
        return (rows,), {}

    def save_all(rows: list[Any]) -> None:
        for row in rows:
            row.save()

    benchmark.pedantic(save_all, setup=setup, rounds=20, warmup_rounds=1)
    assert len(handled) == SAVES
