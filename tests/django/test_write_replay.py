"""The diffs of Post events are the truth: replaying them reproduces the table, also under concurrent writers."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvas_core import events
from tests.testapp.models import Article, Counter, Tag

pytestmark = pytest.mark.django_db


class Replay:
    """A copy of the tables rebuilt from nothing but Post events."""

    def __init__(self) -> None:
        self.counters: dict[int, dict[str, Any]] = {}
        self.tags: dict[int, tuple[int, ...]] = {}

    def on_counter(self, event: Any) -> None:
        record = event.record
        if isinstance(event, events.PostRecordCreate):
            self.counters[record.pk] = {"name": record.name, "count": record.count}
        elif isinstance(event, events.PostRecordUpdate):
            row = self.counters[record.pk]
            for name, (old, new) in event.diff.items():
                if name in row:
                    assert row[name] == old, f"diff of {name} does not start where the last one ended"
                    row[name] = new
        elif isinstance(event, events.PostRecordDelete):
            del self.counters[record.pk]

    def on_article(self, event: Any) -> None:
        record = event.record
        if isinstance(event, events.PostRecordCreate):
            self.tags[record.pk] = ()
        elif isinstance(event, events.PostRecordUpdate) and "tags" in event.diff:
            old, new = event.diff["tags"]
            assert self.tags[record.pk] == old
            self.tags[record.pk] = new


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 5)),
        st.tuples(st.just("save"), st.integers(0, 5)),
        st.tuples(st.just("update"), st.integers(0, 5)),
        st.tuples(st.just("update_f"), st.integers(0, 5)),
        st.tuples(st.just("bulk_update"), st.integers(0, 5)),
        st.tuples(st.just("delete"), st.integers(0, 5)),
        st.tuples(st.just("tag"), st.integers(0, 5)),
        st.tuples(st.just("untag"), st.integers(0, 5)),
        st.tuples(st.just("set_tags"), st.integers(0, 5)),
        st.tuples(st.just("clear_tags"), st.integers(0, 5)),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_replaying_post_event_diffs_reproduces_the_tables(operations: list[tuple[str, int]]) -> None:
    replay = Replay()
    events.handle_event(events.RecordEvent, origin=Counter)(replay.on_counter)
    events.handle_event(events.RecordEvent, origin=Article)(replay.on_article)
    article = Article.objects.create(title="a")
    tags = [Tag.objects.create(label=str(i)) for i in range(4)]
    try:
        with transaction.atomic():
            for name, n in operations:
                counters = list(Counter.objects.order_by("pk"))
                target = counters[n % len(counters)] if counters else None
                if name == "create":
                    Counter.objects.create(name=f"c{n}", count=n)
                elif name == "save" and target is not None:
                    target.count += n
                    target.save()
                elif name == "update":
                    Counter.objects.filter(count__gte=n).update(count=n, name=f"u{n}")
                elif name == "update_f":
                    Counter.objects.filter(pk__gte=getattr(target, "pk", 0)).update(count=F("count") + n)
                elif name == "bulk_update" and counters:
                    for counter in counters:
                        counter.name = f"b{n}"
                    Counter.objects.bulk_update(counters, ["name"])
                elif name == "delete" and target is not None:
                    target.delete()
                elif name == "tag":
                    article.tags.add(tags[n % 4])
                elif name == "untag":
                    article.tags.remove(tags[n % 4])
                elif name == "set_tags":
                    article.tags.set(tags[: n % 4])
                elif name == "clear_tags":
                    tags[n % 4].articles.clear() if n % 2 else article.tags.clear()
        stored = {c.pk: {"name": c.name, "count": c.count} for c in Counter.objects.all()}
        assert replay.counters == stored
        assert replay.tags[article.pk] == tuple(sorted(article.tags.values_list("pk", flat=True)))
    finally:
        Counter.objects.all().delete()
        Article.objects.all().delete()
        Tag.objects.all().delete()
        events.remove_handler(replay.on_counter)
        events.remove_handler(replay.on_article)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_during_a_queryset_update_get_exact_diffs() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks (SELECT ... FOR UPDATE): run on PostgreSQL (CANVAS_TEST_DATABASE=postgres)")
    rows = [Counter.objects.create(name=f"c{i}", count=0) for i in range(20)]
    increments: Tally[int] = Tally()
    lock = threading.Lock()

    @events.handle_event(events.PostRecordUpdate[Counter])
    def count(event: events.PostRecordUpdate[Counter]) -> None:
        if "count" in event.diff:
            old, new = event.diff["count"]
            with lock:
                increments[event.record.pk] += new - old

    def writer(worker: int) -> None:
        try:
            for step in range(15):
                with transaction.atomic():
                    if (worker + step) % 3 == 0:
                        Counter.objects.filter(count__gte=0).update(count=F("count") + 1)
                    else:
                        row = Counter.objects.select_for_update().get(pk=rows[(worker * 7 + step) % 20].pk)
                        row.count += 1
                        row.save()
        finally:
            close_old_connections()

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = dict(Counter.objects.values_list("pk", "count"))
    assert dict(increments) == {pk: count for pk, count in stored.items() if count}


@pytest.mark.django_db(transaction=True)
def test_concurrent_queryset_updates_over_the_same_rows_never_deadlock() -> None:
    """Each update() locks its rows in key order, so overlapping updates queue instead of deadlocking.

    Locked in physical order, two updates could each hold a row the other needs next: the saves in
    between move row versions around the heap, so each scan meets the rows in a different order.
    """
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks (SELECT ... FOR UPDATE): run on PostgreSQL (CANVAS_TEST_DATABASE=postgres)")
    rows = [Counter.objects.create(name=f"c{i}", count=0) for i in range(40)]
    increments: Tally[int] = Tally()
    lock = threading.Lock()
    failures: list[BaseException] = []

    @events.handle_event(events.PostRecordUpdate[Counter])
    def count(event: events.PostRecordUpdate[Counter]) -> None:
        if "count" in event.diff:
            old, new = event.diff["count"]
            with lock:
                increments[event.record.pk] += new - old

    def writer(worker: int) -> None:
        try:
            for step in range(25):
                with transaction.atomic():
                    if step % 2:
                        Counter.objects.filter(count__gte=0).update(count=F("count") + 1)
                    else:
                        row = rows[(worker * 11 + step * 3) % 40]
                        Counter.objects.filter(pk=row.pk).update(name=f"w{worker}s{step}")
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    stored = dict(Counter.objects.values_list("pk", "count"))
    assert stored == {row.pk: 6 * 12 for row in rows}
    assert dict(increments) == stored
