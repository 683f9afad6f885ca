"""bulk_create and bulk_update emit per-record events; what stays uncovered emits nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from canvas_core import events
from tests.testapp.models import Author, Counter

from .conftest import Recorder

pytestmark = pytest.mark.django_db


def test_bulk_create_emits_create_events_per_record(recorder: Recorder) -> None:
    recorder.listen(Author)
    Author.objects.bulk_create([Author(name="Ada"), Author(name="Grace")])
    assert recorder.kinds == ["PreRecordCreate", "PreRecordCreate", "PostRecordCreate", "PostRecordCreate"]
    assert [item.record.name for item in recorder.seen[2:]] == ["Ada", "Grace"]
    if connection.features.can_return_rows_from_bulk_insert:
        assert all(item.record.pk is not None for item in recorder.seen[2:])


def test_bulk_create_pre_handlers_may_change_the_records() -> None:
    @events.handle_event(events.PreRecordCreate, origin=Author)
    def title_case(event: events.PreRecordCreate[Author]) -> None:
        event.record.name = event.record.name.title()

    Author.objects.bulk_create([Author(name="ada"), Author(name="grace")])
    assert sorted(Author.objects.values_list("name", flat=True)) == ["Ada", "Grace"]


def test_bulk_create_with_conflict_handling_emits_nothing(recorder: Recorder) -> None:
    recorder.listen(Author)
    Author.objects.bulk_create([Author(pk=1, name="Ada")], ignore_conflicts=True)
    assert recorder.kinds == []


def test_bulk_update_emits_update_events_with_diffs_and_one_query_for_unknown_old_values(
    recorder: Recorder,
) -> None:
    Author.objects.bulk_create([Author(name="Ada"), Author(name="Grace")])
    authors = list(Author.objects.order_by("name"))  # loaded before any handler
    recorder.listen(Author)
    for author in authors:
        author.name = author.name.upper()
    with CaptureQueriesContext(connection) as queries:
        Author.objects.bulk_update(authors, ["name"])
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "UPDATE"]
    assert recorder.kinds == ["PreRecordUpdate"] * 2 + ["PostRecordUpdate"] * 2
    assert recorder.diffs() == [{"name": ("Ada", "ADA")}, {"name": ("Grace", "GRACE")}]


def test_bulk_update_of_loaded_records_needs_no_extra_query(recorder: Recorder) -> None:
    recorder.listen(Counter, events.PostRecordUpdate)
    Counter.objects.bulk_create([Counter(name="a"), Counter(name="b")])
    counters = list(Counter.objects.order_by("name"))
    for counter in counters:
        counter.count = 5
    with CaptureQueriesContext(connection) as queries:
        Counter.objects.bulk_update(counters, ["count"])
    assert [query["sql"].split()[0] for query in queries] == ["UPDATE"]
    assert recorder.diffs() == [{"count": (0, 5)}, {"count": (0, 5)}]


def test_bulk_update_with_expressions_reports_the_written_values(recorder: Recorder) -> None:
    recorder.listen(Counter, events.PostRecordUpdate)
    Counter.objects.create(name="a", count=1)
    counter = Counter.objects.get()
    counter.count = F("count") + 10
    Counter.objects.bulk_update([counter], ["count"])
    assert recorder.diffs() == [{"count": (1, 11)}]


def test_bulk_update_saves_pre_handler_changes_to_other_fields() -> None:
    @events.handle_event(events.PreRecordUpdate, origin=Counter)
    def rename(event: events.PreRecordUpdate[Counter]) -> None:
        event.record.name = f"{event.record.name}!"

    Counter.objects.create(name="a")
    counter = Counter.objects.get()
    counter.count = 3
    Counter.objects.bulk_update([counter], ["count"])
    assert Counter.objects.values_list("name", "count").get() == ("a!", 3)


def test_raw_sql_emits_nothing(recorder: Recorder) -> None:
    Author.objects.create(name="Ada")
    recorder.listen(Author)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_author SET name = 'Hedy'")
    assert recorder.kinds == []
