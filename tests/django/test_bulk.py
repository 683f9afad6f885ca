"""bulk_create and bulk_update emit per-record events; what stays uncovered emits nothing."""

from __future__ import annotations

import logging

import pytest
from django.db import connection, connections, transaction
from django.db.models import F, Model
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from canvas_core import events
from canvas_core.django._delivery import deliver
from tests.testapp.models import Author, AuthorProxy, Counter

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


def test_bulk_create_through_a_proxy_manager_emits_the_events_of_each_records_own_model(recorder: Recorder) -> None:
    # Django accepts instances of the concrete model through a proxy's manager (and the reverse).
    recorder.listen(Author)
    AuthorProxy.objects.bulk_create([Author(name="Ada"), AuthorProxy(name="Grace")])  # type: ignore[list-item]
    assert sorted(Author.objects.values_list("name", flat=True)) == ["Ada", "Grace"]
    assert recorder.kinds == ["PreRecordCreate"] * 2 + ["PostRecordCreate"] * 2
    assert [item.model for item in recorder.seen] == [Author, AuthorProxy] * 2


def test_bulk_update_through_a_proxy_manager_emits_the_events_of_each_records_own_model(recorder: Recorder) -> None:
    Author.objects.bulk_create([Author(name="Ada"), Author(name="Grace")])
    ada = Author.objects.get(name="Ada")
    grace = AuthorProxy.objects.get(name="Grace")
    recorder.listen(Author)
    ada.name, grace.name = "ADA", "GRACE"
    AuthorProxy.objects.bulk_update([ada, grace], ["name"])  # type: ignore[list-item]
    assert sorted(Author.objects.values_list("name", flat=True)) == ["ADA", "GRACE"]
    assert [(item.kind, item.model) for item in recorder.seen] == [
        ("PreRecordUpdate", Author),
        ("PreRecordUpdate", AuthorProxy),
        ("PostRecordUpdate", Author),
        ("PostRecordUpdate", AuthorProxy),
    ]
    assert recorder.diffs() == [{"name": ("Ada", "ADA")}, {"name": ("Grace", "GRACE")}]


def test_an_event_the_integration_cannot_build_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[object] = []
    events.handle_event(events.PostRecordCreate, origin=Author)(ran.append)
    with caplog.at_level(logging.ERROR, logger="canvas_core.django"):
        deliver(events.PostRecordCreate[Author], Author, "default", {"record": Counter(name="not an author")})
    assert ran == []
    (message,) = [record for record in caplog.records if record.name == "canvas_core.django"]
    assert message.getMessage() == (
        "canvas_core could not build PostRecordCreate[Author] for a write of Author; its handlers did not run"
    )
    assert isinstance(message.exc_info[1] if message.exc_info else None, events.EventValidationError)


class _ReadsFromDefaultWritesToOther:
    """A primary/replica router: reads go to "default", writes to "other"."""

    def db_for_read(self, model: type[Model], **hints: object) -> str:
        return "default"

    def db_for_write(self, model: type[Model], **hints: object) -> str:
        return "other"


@pytest.mark.django_db(databases=["default", "other"])
def test_bulk_update_diffs_against_the_write_database(recorder: Recorder) -> None:
    Author.objects.using("other").create(pk=1, name="Ada (written)")
    Author.objects.using("default").create(pk=1, name="Ada (replica, stale)")
    recorder.listen(Author, events.PostRecordUpdate)
    with override_settings(DATABASE_ROUTERS=[_ReadsFromDefaultWritesToOther()]):
        Author.objects.bulk_update([Author(pk=1, name="Grace")], ["name"])
    assert recorder.diffs() == [{"name": ("Ada (written)", "Grace")}]
    assert Author.objects.using("other").get().name == "Grace"


@pytest.mark.django_db(databases=["default", "other"], transaction=True)
def test_a_failing_handler_in_bulk_create_is_contained_on_the_write_database() -> None:
    # The same handler on save() is contained by its savepoint; bulk_create must guard the same
    # connection, the one it writes to (on PostgreSQL the failed query would abort the transaction).
    failures: list[Exception] = []

    @events.handle_event(events.PostRecordCreate, origin=Author)
    def write_then_fail(event: events.PostRecordCreate[Author]) -> None:
        using = event.record._state.db
        assert using is not None
        Counter.objects.using(using).create(name="the handler's write")
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    events.handle_event(events.HandlerFailed)(lambda event: failures.append(event.exception))
    router = _ReadsFromDefaultWritesToOther()
    with override_settings(DATABASE_ROUTERS=[router]), transaction.atomic(using="other"):
        Author.objects.bulk_create([Author(name="Ada")])
        Counter.objects.using("other").create(name="the caller's write, after")
    assert len(failures) == 1
    assert list(Counter.objects.using("other").values_list("name", flat=True)) == ["the caller's write, after"]
    assert Author.objects.using("other").get().name == "Ada"
