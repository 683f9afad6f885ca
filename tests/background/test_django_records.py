"""Record events with Django: records travel as references, jobs wait for the commit."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection, transaction

from canvas_core import background, events
from canvas_core.background import Job
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db(transaction=True)

received: list[events.RecordEvent[Any]] = []


def on_book_update(event: events.PostRecordUpdate[Book]) -> None:
    received.append(event)


def on_book_delete(event: events.PostRecordDelete[Book]) -> None:
    received.append(event)


def on_any_record_update(event: events.PostRecordUpdate[Any]) -> None:
    received.append(event)


class ShelfStocked(events.Event):
    books: list[Book]
    labels: dict[str, str]


def on_shelf_stocked(event: ShelfStocked) -> None:
    received.append(event)  # type: ignore[arg-type]


class Recorded(list[Job]):
    """An engine that keeps jobs instead of running them, to see when they are enqueued."""

    def enqueue(self, job: Job) -> None:
        self.append(job)


@pytest.fixture(autouse=True)
def _forget() -> None:
    received.clear()


@pytest.fixture
def jobs() -> Recorded:
    engine = Recorded()
    background.use_engine(engine)
    return engine


@pytest.fixture
def book() -> Book:
    return Book.objects.create(title="Dune", author=Author.objects.create(name="Frank Herbert"))


def test_jobs_are_enqueued_when_the_transaction_commits(jobs: Recorded, book: Book) -> None:
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book_update)

    with transaction.atomic():
        events.emit_event(events.PostRecordUpdate[Book], origin=Book, record=book, diff={})
        assert jobs == []  # not before the commit

    [job] = jobs
    assert job.records == ({"model": "testapp.book", "pk": book.pk},)
    assert job.fields["record"] == {job.marker: 0}
    assert job.event_type == "canvas_core.events._records:PostRecordUpdate[model:testapp.book]"


def test_nothing_is_enqueued_when_the_transaction_rolls_back(jobs: Recorded, book: Book) -> None:
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book_update)

    def write_then_fail() -> None:
        with transaction.atomic():
            events.emit_event(events.PostRecordUpdate[Book], origin=Book, record=book, diff={})
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        write_then_fail()

    assert jobs == []


def test_the_worker_fetches_the_record_again(book: Book) -> None:
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book_update)

    with transaction.atomic():
        events.emit_event(events.PostRecordUpdate[Book], origin=Book, record=book, diff={"title": ("Dune", "Dune")})
        with connection.cursor() as cursor:  # committed along with the event, and emitting none of its own
            cursor.execute("UPDATE testapp_book SET title = %s WHERE id = %s", ["Dune Messiah", book.pk])

    [event] = received
    assert isinstance(event.record, Book)
    assert event.record is not book
    assert event.record.pk == book.pk
    assert event.record.title == "Dune Messiah"  # the committed row, not the emitter's object
    assert event.diff == {"title": ("Dune", "Dune")}  # type: ignore[attr-defined]


def test_records_anywhere_in_an_event_travel_as_references(jobs: Recorded, book: Book) -> None:
    events.handle_event(ShelfStocked, background=True)(on_shelf_stocked)
    second = Book.objects.create(title="Children of Dune", author=book.author)
    labels = {"__canvas_record__": "not a record", "model": "testapp.book"}

    events.emit_event(ShelfStocked, books=[book, second], labels=labels)
    [job] = jobs
    assert [reference["pk"] for reference in job.records] == [book.pk, second.pk]
    background.run_job(job)

    [event] = received
    assert isinstance(event, ShelfStocked)
    assert [(b.pk, b.title) for b in event.books] == [(book.pk, "Dune"), (second.pk, "Children of Dune")]
    assert event.labels == labels


def test_a_handler_of_the_unparametrized_event_gets_the_parametrized_class(book: Book) -> None:
    events.handle_event(events.PostRecordUpdate, background=True)(on_any_record_update)

    events.emit_event(events.PostRecordUpdate, origin=Book, record=book, diff={})

    [event] = received
    assert type(event) is events.PostRecordUpdate[Book]


def test_a_deleted_record_is_rebuilt_from_its_values_at_emission(book: Book) -> None:
    events.handle_event(events.PostRecordDelete[Book], background=True)(on_book_delete)
    book.metadata = {"pages": 412}
    book.save()

    with transaction.atomic():
        Book.objects.filter(pk=book.pk).delete()  # the ORM integration emits PostRecordDelete[Book]

    [event] = received
    assert isinstance(event.record, Book)
    assert (event.record.pk, event.record.title, event.record.author_id, event.record.metadata) == (
        book.pk,
        "Dune",
        book.author_id,
        {"pages": 412},
    )
    assert not Book.objects.filter(pk=book.pk).exists()


def test_a_record_whose_primary_key_django_cleared_on_delete_is_rebuilt_too(book: Book) -> None:
    events.handle_event(events.PostRecordDelete[Book], background=True)(on_book_delete)
    book.delete()  # emits PostRecordDelete[Book] itself, then sets book.pk to None
    received.clear()

    events.emit_event(events.PostRecordDelete[Book], origin=Book, record=book)

    [event] = received
    assert isinstance(event.record, Book)
    assert event.record.pk is None
    assert event.record.title == "Dune"


def test_a_record_gone_before_the_worker_runs_is_logged(
    jobs: Recorded, book: Book, caplog: pytest.LogCaptureFixture
) -> None:
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book_update)
    events.emit_event(events.PostRecordUpdate[Book], origin=Book, record=book, diff={})
    Book.objects.filter(pk=book.pk).delete()

    with caplog.at_level(logging.ERROR, logger="canvas_core.background"):
        background.run_job(jobs[0])

    assert received == []
    assert (
        f"Background job {jobs[0].id} for tests.background.test_django_records:on_book_update could not be loaded"
        in (caplog.text)
    )
    assert f"Book with primary key {book.pk} no longer exists" in caplog.text


def test_an_unsaved_record_is_reported_at_emission() -> None:
    reported: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reported.append)
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book_update)

    events.emit_event(events.PostRecordUpdate[Book], origin=Book, record=Book(title="Draft"), diff={})

    [failure] = reported
    assert isinstance(failure.exception, background.EventNotSerializable)
    assert "an unsaved Book cannot be sent to a background handler" in str(failure.exception)
    assert received == []
