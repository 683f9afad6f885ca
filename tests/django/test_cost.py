"""Pay only for what is handled: unwired models run Django's own code."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.deletion import Collector
from django.test.utils import CaptureQueriesContext

from canvas_core import events
from canvas_core.django import wired_events
from canvas_core.django._wiring import STORED
from tests.testapp.models import Author, AuthorProxy, Book, Counter, Place, Restaurant

pytestmark = pytest.mark.django_db


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split()[0] for query in queries]


def test_no_handler_no_wiring() -> None:
    assert wired_events(Author) == frozenset()
    assert wired_events(Book) == frozenset()


def test_unwired_models_pay_no_query_and_keep_the_fast_delete_path() -> None:
    @events.handle_event(events.RecordEvent, origin=Counter)  # another model is handled
    def on_counter(event: events.RecordEvent[Counter]) -> None: ...

    author = Author.objects.create(name="Ada")
    Book.objects.create(title="Notes", author=author)
    with CaptureQueriesContext(connection) as queries:
        book = Book.objects.get()
        book.title = "Notebooks"
        book.save()
    assert _statements(queries) == ["SELECT", "UPDATE"]
    assert STORED not in book.__dict__
    assert Collector(using="default").can_fast_delete(Book.objects.all())
    with CaptureQueriesContext(connection) as queries:
        Book.objects.all().delete()
    assert _statements(queries) == ["DELETE"]


def test_wiring_follows_registrations() -> None:
    def on_update(event: events.PostRecordUpdate[Book]) -> None: ...

    events.handle_event(events.PostRecordUpdate, origin=Book)(on_update)
    assert wired_events(Book) == {events.PostRecordUpdate}
    assert wired_events(Author) == frozenset()
    assert Collector(using="default").can_fast_delete(Book.objects.all())  # no delete handler

    def on_delete(event: events.PreRecordDelete[Book]) -> None: ...

    events.handle_event(events.PreRecordDelete[Book])(on_delete)
    assert wired_events(Book) == {events.PostRecordUpdate, events.PreRecordDelete}
    assert not Collector(using="default").can_fast_delete(Book.objects.all())

    events.remove_handler(on_update)
    events.remove_handler(on_delete)
    assert wired_events(Book) == frozenset()
    assert Collector(using="default").can_fast_delete(Book.objects.all())


def test_a_handler_without_origin_wires_every_model() -> None:
    @events.handle_event(events.PostRecordCreate)
    def anything(event: events.PostRecordCreate[object]) -> None: ...

    assert wired_events(Book) == {events.PostRecordCreate}
    assert wired_events(Place) == {events.PostRecordCreate}


def test_handlers_of_events_in_general_wire_everything() -> None:
    @events.handle_event(events.Event)
    def everything(event: events.Event) -> None: ...

    assert len(wired_events(Author)) == 6


def test_other_events_wire_nothing() -> None:
    class Unrelated(events.Event):
        pass

    @events.handle_event(Unrelated)
    def unrelated(event: Unrelated) -> None: ...

    assert wired_events(Author) == frozenset()


def test_parent_and_proxy_scopes() -> None:
    @events.handle_event(events.PostRecordUpdate, origin=Place)
    def on_place(event: events.PostRecordUpdate[Place]) -> None: ...

    assert wired_events(Restaurant) == {events.PostRecordUpdate}

    @events.handle_event(events.PostRecordDelete[AuthorProxy])
    def on_proxy(event: events.PostRecordDelete[AuthorProxy]) -> None: ...

    assert wired_events(AuthorProxy) == {events.PostRecordDelete}
    assert wired_events(Author) == frozenset()


def test_create_handlers_keep_no_old_values() -> None:
    @events.handle_event(events.PostRecordCreate, origin=Author)
    def created(event: events.PostRecordCreate[Author]) -> None: ...

    author = Author.objects.create(name="Ada")
    assert STORED not in author.__dict__
    assert STORED not in Author.objects.get().__dict__
    with CaptureQueriesContext(connection) as queries:
        author.name = "Grace"
        author.save()
    assert _statements(queries) == ["UPDATE"]


def test_handled_delete_costs_what_django_signals_cost() -> None:
    @events.handle_event(events.PostRecordDelete, origin=Book)
    def deleted(event: events.PostRecordDelete[Book]) -> None: ...

    Book.objects.create(title="Notes", author=Author.objects.create(name="Ada"))
    with CaptureQueriesContext(connection) as queries:
        Book.objects.all().delete()
    assert _statements(queries) == ["SELECT", "DELETE"]  # the records, then one DELETE
