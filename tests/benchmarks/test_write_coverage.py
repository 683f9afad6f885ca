"""QuerySet.update() and many-to-many changes with events against plain Django, and what the emission context costs.

Run (SQLite in memory; CANVAS_BENCH_SQLITE_FILE=/tmp/bench.sqlite3 for a SQLite file, or
CANVAS_TEST_DATABASE=postgres and CANVAS_TEST_POSTGRES_URL for PostgreSQL)::

    .venv/bin/python -m pytest tests/benchmarks/test_write_coverage.py -o addopts="" \\
        --ds=tests.benchmarks.settings -s -p no:randomly

Each measurement runs in interleaved rounds (CANVAS_BENCH_ROUNDS, default 15), each round inside its own
transaction (its COMMIT included), and is printed as best and median with
their ratio to plain Django; the interleaving keeps ratios meaningful on a busy
machine.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_save

from canvas_core import events
from canvas_core.django._delivery import deliver_each
from tests.testapp.models import Article, Tag

from .benchapp.models import CanvasRow, PlainRow, Row, handled

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 1_000
ROUNDS = int(os.environ.get("CANVAS_BENCH_ROUNDS", "15"))
RELATED = 100


class Ping(events.Event):
    pass


def _on_update(event: events.PostRecordUpdate[CanvasRow]) -> None:
    handled.append(event.diff)


def _on_plain_save(sender: type[PlainRow], instance: PlainRow, **kwargs: Any) -> None:
    handled.append(instance)


@pytest.fixture(autouse=True)
def _handler() -> Iterator[None]:
    events.handle_event(events.PostRecordUpdate, origin=CanvasRow)(_on_update)
    yield
    events.remove_handler(_on_update)
    handled.clear()


def _fill(model: type[Row]) -> None:
    model._default_manager.bulk_create(model(name=f"row {i}", count=i, metadata={}) for i in range(ROWS))


def _timed(rounds: int, runs: dict[str, Callable[[], Any]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            with transaction.atomic():
                run()
            times[name].append(time.perf_counter() - start)
            handled.clear()
    return times


def _print(title: str, times: dict[str, list[float]], base: str) -> None:
    best_base, median_base = min(times[base]), statistics.median(times[base])
    print(f"\n{title} ({len(times[base])} interleaved rounds)")
    print(f"  {'':<44} {'best':>9}        {'median':>9}")
    for name, seconds in times.items():
        best, median = min(seconds), statistics.median(seconds)
        print(
            f"  {name:<44} {best * 1000:7.2f} ms {best / best_base:6.2f}x "
            f"{median * 1000:7.2f} ms {median / median_base:6.2f}x"
        )


def _save_each(model: type[Row]) -> None:
    for row in model._default_manager.select_for_update().order_by("pk"):
        row.count += 1
        row.save(update_fields=["count"])


def test_queryset_update_against_django(capsys: pytest.CaptureFixture[str]) -> None:
    _fill(PlainRow)
    _fill(CanvasRow)
    post_only = _timed(
        ROUNDS,
        {
            "django update(count=F+1)": lambda: PlainRow._default_manager.update(count=F("count") + 1),
            "canvas-core update(count=F+1)": lambda: CanvasRow._default_manager.update(count=F("count") + 1),
            "django update(name=...)": lambda: PlainRow._default_manager.update(name="x"),
            "canvas-core update(name=...)": lambda: CanvasRow._default_manager.update(name="x"),
        },
    )

    def pre(event: events.PreRecordUpdate[CanvasRow]) -> None:
        handled.append(event.diff)

    events.handle_event(events.PreRecordUpdate, origin=CanvasRow)(pre)
    pre_and_post = _timed(
        ROUNDS,
        {
            "django update(count=F+1)": lambda: PlainRow._default_manager.update(count=F("count") + 1),
            "canvas-core update(count=F+1)": lambda: CanvasRow._default_manager.update(count=F("count") + 1),
        },
    )
    events.remove_handler(pre)

    # What the update costs at least: the extra read, as Django gives rows, and building and handling the events.
    rows = list(CanvasRow._default_manager.order_by("pk"))
    post_update = events.PostRecordUpdate[CanvasRow]
    floors = _timed(
        ROUNDS,
        {
            "django update(count=F+1)": lambda: PlainRow._default_manager.update(count=F("count") + 1),
            "the extra read (SELECT FOR UPDATE, tuples)": lambda: list(
                PlainRow._default_manager.select_for_update().order_by("pk").values_list()
            ),
            f"{ROWS:,} PostRecordUpdate delivered": lambda: deliver_each(
                post_update,
                CanvasRow,
                "default",
                [{"record": row, "diff": {"count": (1, 2)}, "operation": "queryset_update"} for row in rows],
            ),
        },
    )

    # The honest alternative for per-row events: a loop of save(), each row its own UPDATE.
    post_save.connect(_on_plain_save, sender=PlainRow)
    try:
        loops = _timed(
            max(3, ROUNDS // 3),
            {
                "django update(count=F+1)": lambda: PlainRow._default_manager.update(count=F("count") + 1),
                "canvas-core update(count=F+1)": lambda: CanvasRow._default_manager.update(count=F("count") + 1),
                "django loop of save(), post_save receiver": lambda: _save_each(PlainRow),
                "canvas-core loop of save(), Post handler": lambda: _save_each(CanvasRow),
            },
        )
    finally:
        post_save.disconnect(_on_plain_save, sender=PlainRow)

    events.remove_handler(_on_update)
    unwired = _timed(
        ROUNDS,
        {
            "django update(count=F+1)": lambda: PlainRow._default_manager.update(count=F("count") + 1),
            "unwired model update(count=F+1)": lambda: CanvasRow._default_manager.update(count=F("count") + 1),
        },
    )
    with capsys.disabled():
        base = "django update(count=F+1)"
        _print(f"QuerySet.update() of {ROWS:,} rows, one PostRecordUpdate handler", post_only, base)
        _print("the same with a PreRecordUpdate handler too", pre_and_post, base)
        _print("where the time goes", floors, base)
        _print("against a loop of save()", loops, base)
        _print("the same model with no handler", unwired, base)


def _tags() -> list[Tag]:
    return Tag.objects.bulk_create(Tag(label=f"t{i}") for i in range(RELATED))


def _m2m_round(article: Article, tags: list[Tag]) -> None:
    article.tags.add(*tags)
    article.tags.remove(*tags[: RELATED // 2])
    article.tags.set(tags[RELATED // 4 :])  # overlap: some removed, some added
    article.tags.clear()


def _on_m2m(sender: Any, **kwargs: Any) -> None:
    handled.append(kwargs["action"])


def test_many_to_many_changes_against_django(capsys: pytest.CaptureFixture[str]) -> None:
    tags = _tags()
    unhandled_article = Article.objects.create(title="unhandled")
    handled_article = Article.objects.create(title="handled")
    receiver_article = Article.objects.create(title="receiver")
    rows_article = Article.objects.create(title="through rows")

    def on_article_update(event: events.PostRecordUpdate[Article]) -> None:
        handled.append(event.diff)

    def with_receiver() -> None:
        m2m_changed.connect(_on_m2m, sender=Article.tags.through)
        try:
            _m2m_round(receiver_article, tags)
        finally:
            m2m_changed.disconnect(_on_m2m, sender=Article.tags.through)

    def with_handler() -> None:
        events.handle_event(events.PostRecordUpdate, origin=Article)(on_article_update)
        try:
            _m2m_round(handled_article, tags)
        finally:
            events.remove_handler(on_article_update)

    def on_row(event: events.RecordEvent[Any]) -> None:
        handled.append(event.record)

    def with_row_handlers() -> None:
        events.handle_event(events.PostRecordCreate, origin=Article.tags.through)(on_row)
        events.handle_event(events.PostRecordDelete, origin=Article.tags.through)(on_row)
        try:
            _m2m_round(rows_article, tags)
        finally:
            events.remove_handler(on_row)

    # Registering inside the round costs a rewire: measured apart (included in the canvas-core rounds).
    def register_only() -> None:
        events.handle_event(events.PostRecordUpdate, origin=Article)(on_article_update)
        events.remove_handler(on_article_update)

    times = _timed(
        ROUNDS,
        {
            "django, no receiver": lambda: _m2m_round(unhandled_article, tags),
            "django, an m2m_changed receiver": with_receiver,
            "canvas-core, PostRecordUpdate handled": with_handler,
            "canvas-core, through rows' Post create/delete": with_row_handlers,
            "(registering and removing the handler)": register_only,
        },
    )
    with capsys.disabled():
        _print(
            f"add / remove / set / clear of {RELATED} related rows (one round: the four calls)",
            times,
            "django, no receiver",
        )


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

    times = _timed(ROUNDS, {"10,000 emissions": plain, "10,000 emissions in a context": in_context})
    with capsys.disabled():
        _print("emission context, unread by handlers", times, "10,000 emissions")
