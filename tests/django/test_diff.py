"""What the update diff contains, and what it costs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from canvas_core import events
from tests.testapp.models import Author, Book, Counter, Document, Restaurant

from .conftest import Recorder

pytestmark = pytest.mark.django_db


@pytest.fixture
def book() -> Book:
    """A stored book; tests load it again after registering handlers."""
    author = Author.objects.create(name="Ada")
    return Book.objects.create(title="Notes", author=author, metadata={"tags": ["math"], "pages": 10})


def test_foreign_keys_appear_under_the_field_name_as_primary_keys_without_loading(
    recorder: Recorder, book: Book
) -> None:
    recorder.listen(Book)
    book = Book.objects.get()
    grace = Author.objects.create(name="Grace")
    book.author_id = grace.pk
    with CaptureQueriesContext(connection) as queries:
        book.save()
    assert len(queries) == 1  # the UPDATE: neither author was loaded
    assert recorder.diffs() == [{"author": (Author.objects.get(name="Ada").pk, grace.pk)}]


def test_loaded_instances_need_no_query_for_the_diff(recorder: Recorder, book: Book) -> None:
    recorder.listen(Book, events.PostRecordUpdate)
    book = Book.objects.get()
    book.title = "Notebooks"
    with CaptureQueriesContext(connection) as queries:
        book.save()
    assert [query["sql"].split()[0] for query in queries] == ["UPDATE"]
    assert recorder.diffs() == [{"title": ("Notes", "Notebooks")}]


def test_an_instance_not_loaded_while_tracked_costs_one_query(recorder: Recorder) -> None:
    author = Author.objects.create(name="Ada")
    stale = Author.objects.get()  # loaded before any handler: no stored values kept
    recorder.listen(Author, events.PostRecordUpdate)
    stale.name = "Grace"
    with CaptureQueriesContext(connection) as queries:
        stale.save()
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "UPDATE"]
    assert recorder.diffs() == [{"name": ("Ada", "Grace")}]
    assert author.pk == stale.pk


def test_json_mutated_in_place_is_a_change(recorder: Recorder, book: Book) -> None:
    recorder.listen(Book, events.PostRecordUpdate)
    book = Book.objects.get()
    book.metadata["tags"].append("logic")
    book.save()
    assert recorder.diffs() == [
        {"metadata": ({"tags": ["math"], "pages": 10}, {"tags": ["math", "logic"], "pages": 10})}
    ]


def test_a_save_without_changes_still_emits_with_an_empty_diff(recorder: Recorder, book: Book) -> None:
    recorder.listen(Book)
    book = Book.objects.get()
    book.save()
    assert recorder.kinds == ["PreRecordUpdate", "PostRecordUpdate"]
    assert recorder.diffs("PreRecordUpdate") == [{}]
    assert recorder.diffs() == [{}]


def test_f_expressions_never_appear_and_the_written_value_does(recorder: Recorder) -> None:
    counter = Counter.objects.create(name="visits", count=1)
    recorder.listen(Counter)
    counter.count = F("count") + 1
    counter.save()
    pre, post = recorder.diffs("PreRecordUpdate")[0], recorder.diffs()[0]
    assert pre is not None
    assert post is not None
    assert "count" not in pre
    assert post["count"] == (1, 2)
    for old, new in [*pre.values(), *post.values()]:
        assert not hasattr(old, "resolve_expression")
        assert not hasattr(new, "resolve_expression")
    counter.count = F("count") + 1
    counter.save()
    assert recorder.diffs()[1]["count"] == (2, 3)  # type: ignore[index]


def test_post_diff_reflects_values_django_sets_while_saving(recorder: Recorder) -> None:
    counter = Counter.objects.create(name="visits")
    recorder.listen(Counter)
    before = counter.updated_at
    counter.save()
    pre, post = recorder.diffs("PreRecordUpdate")[0], recorder.diffs()[0]
    assert pre == {}
    assert post is not None
    assert post["updated_at"] == (before, counter.updated_at)


def test_update_fields_limits_the_diff_to_what_is_written(recorder: Recorder, book: Book) -> None:
    recorder.listen(Book, events.PostRecordUpdate)
    book = Book.objects.get()
    book.title = "Notebooks"
    book.metadata = {}
    book.save(update_fields=["title"])
    assert recorder.diffs() == [{"title": ("Notes", "Notebooks")}]
    book.save(update_fields=["metadata"])  # the unsaved change is still a change
    assert recorder.diffs()[1] == {"metadata": ({"tags": ["math"], "pages": 10}, {})}


def test_pre_handler_changes_are_saved(recorder: Recorder, book: Book) -> None:
    @events.handle_event(events.PreRecordUpdate, origin=Book)
    def stamp(event: events.PreRecordUpdate[Book]) -> None:
        event.record.metadata["reviewed"] = True

    recorder.listen(Book, events.PostRecordUpdate)
    book = Book.objects.get()
    book.title = "Notebooks"
    book.save()
    assert Book.objects.get().metadata["reviewed"] is True
    assert recorder.diffs()[0] == {
        "title": ("Notes", "Notebooks"),
        "metadata": ({"tags": ["math"], "pages": 10}, {"tags": ["math"], "pages": 10, "reviewed": True}),
    }


def test_pre_handler_changes_are_saved_under_update_fields(recorder: Recorder, book: Book) -> None:
    @events.handle_event(events.PreRecordUpdate, origin=Book)
    def stamp(event: events.PreRecordUpdate[Book]) -> None:
        event.record.metadata = {"reviewed": True}

    recorder.listen(Book, events.PostRecordUpdate)
    book = Book.objects.get()
    book.title = "Notebooks"
    book.save(update_fields=["title"])
    stored = Book.objects.get()
    assert (stored.title, stored.metadata) == ("Notebooks", {"reviewed": True})
    diff = recorder.diffs()[0]
    assert diff is not None
    assert set(diff) == {"title", "metadata"}


def test_pre_handler_changes_are_saved_for_instances_loaded_with_only(recorder: Recorder, book: Book) -> None:
    @events.handle_event(events.PreRecordUpdate, origin=Book)
    def stamp(event: events.PreRecordUpdate[Book]) -> None:
        event.record.metadata = {"reviewed": True}

    recorder.listen(Book, events.PostRecordUpdate)
    partial = Book.objects.only("title").get()
    partial.title = "Notebooks"
    partial.save()
    stored = Book.objects.get()
    assert (stored.title, stored.metadata) == ("Notebooks", {"reviewed": True})
    assert recorder.diffs()[0] == {
        "title": ("Notes", "Notebooks"),
        "metadata": ({"tags": ["math"], "pages": 10}, {"reviewed": True}),
    }


def test_deferred_fields_are_not_loaded_by_the_diff(recorder: Recorder, book: Book) -> None:
    recorder.listen(Book, events.PostRecordUpdate)
    partial = Book.objects.only("title").get()
    partial.title = "Notebooks"
    with CaptureQueriesContext(connection) as queries:
        partial.save()
    assert len(queries) == 1
    assert partial.get_deferred_fields() == {"metadata", "author_id"}
    assert recorder.diffs() == [{"title": ("Notes", "Notebooks")}]


@pytest.mark.parametrize(
    ("handled", "statements"),
    [
        ([events.PostRecordUpdate], ["SELECT", "UPDATE"]),
        ([events.PreRecordUpdate], ["SELECT", "UPDATE"]),
        ([events.PreRecordCreate, events.PostRecordCreate, events.PreRecordDelete], ["UPDATE"]),
    ],
)
def test_an_assigned_deferred_field_costs_a_select_of_its_old_value_only_for_update_handlers(
    book: Book, handled: list[type[events.Event]], statements: list[str]
) -> None:
    seen: list[Any] = []
    for event_type in handled:
        events.handle_event(event_type, origin=Book)(seen.append)
    partial = Book.objects.only("title").get()
    partial.metadata = {"pages": 11}  # deferred, assigned without being loaded: its old value is unknown
    with CaptureQueriesContext(connection) as queries:
        partial.save()
    assert [query["sql"].split()[0] for query in queries] == statements
    if statements[0] == "SELECT":  # one query, of that field only (title's old value was loaded)
        selected = queries[0]["sql"].split(" FROM ")[0]
        assert "metadata" in selected
        assert "title" not in selected
        assert "author" not in selected
        assert [event.diff for event in seen] == [{"metadata": ({"tags": ["math"], "pages": 10}, {"pages": 11})}]


def test_saving_twice_in_one_transaction_diffs_against_the_first_save(recorder: Recorder, book: Book) -> None:
    recorder.listen(Book, events.PostRecordUpdate)
    book = Book.objects.get()
    with transaction.atomic():
        book.title = "Notebooks"
        book.save()
        book.title = "Journals"
        book.save()
    assert recorder.diffs() == [{"title": ("Notes", "Notebooks")}, {"title": ("Notebooks", "Journals")}]


def test_a_failed_save_keeps_the_old_values_for_the_next_diff(recorder: Recorder) -> None:
    Author.objects.create(name="Ada")
    recorder.listen(Author, events.PostRecordUpdate)
    author = Author.objects.get()
    author.name = None  # type: ignore[assignment]  # NOT NULL: the UPDATE fails
    with pytest.raises(IntegrityError), transaction.atomic():
        author.save()
    author.name = "Grace"
    author.save()
    assert recorder.diffs() == [{"name": ("Ada", "Grace")}]


def test_refresh_from_db_updates_the_old_values(recorder: Recorder) -> None:
    author = Author.objects.create(name="Ada")
    Author.objects.filter(pk=author.pk).update(name="Grace")  # not seen by the instance
    recorder.listen(Author, events.PostRecordUpdate)
    author.refresh_from_db()
    author.name = "Hedy"
    author.save()
    assert recorder.diffs() == [{"name": ("Grace", "Hedy")}]


def test_loading_a_deferred_field_keeps_its_old_value(recorder: Recorder, book: Book) -> None:
    recorder.listen(Book, events.PostRecordUpdate)
    partial = Book.objects.only("title").get()
    partial.metadata["pages"] = 11  # loads the field (one query), then changes it in place
    with CaptureQueriesContext(connection) as queries:
        partial.save()
    assert len(queries) == 1
    assert recorder.diffs() == [{"metadata": ({"tags": ["math"], "pages": 10}, {"tags": ["math"], "pages": 11})}]


def test_multi_table_child_loaded_from_the_database(recorder: Recorder) -> None:
    Restaurant.objects.create(name="Chez Ada")
    recorder.listen(Restaurant, events.PostRecordUpdate)
    restaurant = Restaurant.objects.get()
    restaurant.serves_pizza = True
    with CaptureQueriesContext(connection) as queries:
        restaurant.save()
    assert recorder.diffs() == [{"serves_pizza": (False, True)}]
    assert all(query["sql"].startswith("UPDATE") for query in queries)


def _text(max_size: int) -> st.SearchStrategy[str]:
    # Text every database stores as it is (PostgreSQL refuses NUL, even inside JSON).
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=max_size)


def _json_objects() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(_text(5), st.integers(-(2**31), 2**31) | st.lists(st.booleans(), max_size=3), max_size=3)


class TestDiffProperty(HypothesisTestCase):
    """For any old and new values, the diff holds exactly the fields whose value changed."""

    @settings(max_examples=30, deadline=None)
    @given(
        old_title=_text(20),
        new_title=_text(20),
        old_meta=_json_objects(),
        new_meta=_json_objects(),
    )
    def test_diff_is_exactly_the_changed_fields(
        self, old_title: str, new_title: str, old_meta: dict[str, Any], new_meta: dict[str, Any]
    ) -> None:
        diffs: list[dict[str, tuple[Any, Any]]] = []

        @events.handle_event(events.PostRecordUpdate, origin=Book)
        def keep(event: events.PostRecordUpdate[Book]) -> None:
            diffs.append(event.diff)

        try:
            author = Author.objects.create(name="Ada")
            Book.objects.create(title=old_title, author=author, metadata=old_meta)
            book = Book.objects.get()
            book.title = new_title
            book.metadata = new_meta
            book.save()
        finally:
            events.remove_handler(keep)
        expected: dict[str, tuple[Any, Any]] = {}
        if old_title != new_title:
            expected["title"] = (old_title, new_title)
        if old_meta != new_meta:
            expected["metadata"] = (old_meta, new_meta)
        assert diffs == [expected]


def test_in_place_changes_are_seen_in_every_json_field_even_for_values_marshal_cannot_copy(
    recorder: Recorder,
) -> None:
    Document.objects.create(data={"tags": ["a"]}, prices={"book": 9.5})
    recorder.listen(Document, events.PostRecordUpdate)
    document = Document.objects.get()
    assert document.prices == {"book": Decimal("9.5")}
    document.data["tags"].append("b")
    document.prices["book"] += Decimal("1")
    with CaptureQueriesContext(connection) as queries:
        document.save()
    assert len(queries) == 1
    assert recorder.diffs() == [
        {
            "data": ({"tags": ["a"]}, {"tags": ["a", "b"]}),
            "prices": ({"book": Decimal("9.5")}, {"book": Decimal("10.5")}),
        }
    ]


def test_in_place_changes_are_seen_in_several_json_fields(recorder: Recorder) -> None:
    Document.objects.create(data={"tags": ["a"]}, prices={"book": 9})
    recorder.listen(Document, events.PostRecordUpdate)
    document = Document.objects.get()
    document.data["tags"].append("b")
    document.prices["book"] += 1
    document.save()
    assert recorder.diffs() == [
        {"data": ({"tags": ["a"]}, {"tags": ["a", "b"]}), "prices": ({"book": 9}, {"book": 10})}
    ]
