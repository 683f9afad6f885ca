"""Capturing record events in tests: capture wires the models, handled or not (captured_events fixture too)."""

from __future__ import annotations

import pytest

from canvas_core import events
from canvas_core.django import wired_events
from canvas_core.django._wiring import KINDS
from canvas_core.testing import EventCapture, capture_events
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


def test_the_fixture_sees_record_events_no_handler_listens_to(
    empty_registry: None, captured_events: EventCapture
) -> None:
    author = Author.objects.create(name="Ada")
    book = Book.objects.create(title="Notes", author=author)
    book.title = "Notes, 2nd ed."
    book.save()
    book.delete()

    captured_events.assert_emitted(events.PreRecordCreate[Book])
    captured_events.assert_emitted(events.PostRecordCreate[Author], times=1)
    update = captured_events.one(events.PostRecordUpdate[Book])
    assert update.diff == {"title": ("Notes", "Notes, 2nd ed.")}
    captured_events.assert_emitted(events.PostRecordDelete, origin=Book, times=1)


def test_models_go_back_to_costing_nothing_afterwards(empty_registry: None) -> None:
    assert wired_events(Book) == frozenset()
    with capture_events() as captured, capture_events() as inner:
        assert wired_events(Book) == frozenset(KINDS)
        Author.objects.create(name="Ada")
    assert wired_events(Book) == frozenset()
    captured.assert_emitted(events.PreRecordCreate[Author])
    inner.assert_emitted(events.PreRecordCreate[Author])


def test_handled_events_stay_wired_as_they_were(empty_registry: None) -> None:
    @events.handle_event(events.PostRecordCreate, origin=Book)
    def on_book(event: events.PostRecordCreate[Book]) -> None:
        pass

    with capture_events():
        pass
    assert wired_events(Book) == {events.PostRecordCreate}
