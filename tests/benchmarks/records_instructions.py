"""Instructions per round of the record-event scenarios, counted by callgrind (immune to the machine's load).

The scenarios of ``test_records.py::test_against_django_receivers`` on SQLite in
memory, smaller (``CG_ROWS`` rows, 200 by default; the load reads ten times as
many). Only the work of each round is counted: it runs inside
``operator.call()``, which callgrind zeroes its counters before and dumps them
after. Run each side in its own process::

    for side in django canvas; do
        valgrind --tool=callgrind --callgrind-out-file=/tmp/records-$side.out \\
            --zero-before=_operator_call --dump-after=_operator_call \\
            .venv/bin/python -m tests.benchmarks.records_instructions $side > /tmp/records-$side.order
    done

Each ``/tmp/records-<side>.out.<n>`` holds one round (``summary:`` line); the
printed ``ORDER`` line names the scenario of each, in turn.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import os
import sys
from collections.abc import Callable
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings")
django.setup()

from django.core.management import call_command  # noqa: E402  (after django.setup())
from django.db import connection  # noqa: E402
from django.db.models import Model  # noqa: E402
from django.db.models.signals import post_delete, post_init, post_save, pre_delete  # noqa: E402

from canvas_core import events  # noqa: E402

from .benchapp.models import EventDeleteRow, EventRow, PlainRow, ReceiverDeleteRow, ReceiverRow, Row  # noqa: E402
from .test_records import _plain_django  # noqa: E402

ROWS = int(os.environ.get("CG_ROWS", "200"))
ROUNDS = 2


def _on_event(event: events.RecordEvent[Any]) -> None:
    pass


def _on_signal(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    pass


def _new_rows(model: type[Row], rows: int) -> list[Row]:
    return [model(name=f"row {i}", count=i, metadata={"tags": ["a", "b"], "size": i}) for i in range(rows)]


def _fill(model: type[Row], rows: int) -> None:
    model._base_manager.all()._raw_delete(connection.alias)
    model._base_manager.bulk_create(_new_rows(model, rows))


def _round(work: str, model: type[Row]) -> Callable[[], object]:
    """Set one round up (not counted) and return its work."""
    manager = model._default_manager
    if work.startswith("load"):
        if model._base_manager.count() != 10 * ROWS:
            _fill(model, 10 * ROWS)
        return lambda: list(manager.all())
    if work.startswith("delete"):
        _fill(model, ROWS)
        return lambda: manager.all().delete()
    if work == "create":
        model._base_manager.all()._raw_delete(connection.alias)
        return lambda: [
            manager.create(name=f"row {i}", count=i, metadata={"tags": ["a", "b"], "size": i}) for i in range(ROWS)
        ]
    if model._base_manager.count() != ROWS:
        _fill(model, ROWS)
    rows = list(model._base_manager.all())
    for row in rows:
        row.count += 1
    if work == "save":

        def save_all() -> None:
            for row in rows:
                row.save()

        return save_all
    return lambda: manager.bulk_update(rows, ["name", "count", "metadata"])


def main(side: str) -> None:
    call_command("migrate", run_syncdb=True, verbosity=0)
    for kind in (events.PostRecordCreate, events.PostRecordUpdate, events.PreRecordDelete, events.PostRecordDelete):
        events.handle_event(kind, origin=EventRow)(_on_event)
    for kind in (events.PreRecordDelete, events.PostRecordDelete):
        events.handle_event(kind, origin=EventDeleteRow)(_on_event)
    for signal in (post_init, post_save, pre_delete, post_delete):
        signal.connect(_on_signal, sender=ReceiverRow)
    for signal in (pre_delete, post_delete):
        signal.connect(_on_signal, sender=ReceiverDeleteRow)
    canvas = side == "canvas"
    plan: list[tuple[str, type[Row]]] = [
        ("load", EventRow if canvas else ReceiverRow),
        ("load-no-receiver", EventRow if canvas else PlainRow),
        ("save", EventRow if canvas else ReceiverRow),
        ("create", EventRow if canvas else ReceiverRow),
        ("bulk_update", EventRow if canvas else ReceiverRow),
        ("delete", EventDeleteRow if canvas else ReceiverDeleteRow),
        ("delete-all-handlers", EventRow if canvas else ReceiverRow),
    ]
    order = []
    with _plain_django() if not canvas else contextlib.nullcontext():
        for work, model in plan:
            _round(work, model)()  # warm-up, not counted
            for _ in range(ROUNDS):
                run = _round(work, model)
                gc.collect()
                operator.call(run)
                order.append(work)
    print("ORDER", " ".join(order))


if __name__ == "__main__":
    main(sys.argv[1])
