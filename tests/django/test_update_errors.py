"""QuerySet.update() and many-to-many changes with events keep Django's own results, errors and transaction state.

Found by running Django's own test suite with canvas_core wired (``nox -s django_suite``).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import connection, transaction
from django.db.models import Count, F

from canvas_core import events
from tests.testapp.models import Article, Author, Book, Counter, Membership

from .conftest import Recorder

pytestmark = pytest.mark.django_db


def test_an_update_may_refer_to_the_querysets_annotations(recorder: Recorder) -> None:
    Counter.objects.create(name="a", count=2)
    recorder.listen(Counter, events.PostRecordUpdate)
    assert Counter.objects.annotate(doubled=F("count") * 2).update(count=F("doubled")) == 1
    assert Counter.objects.get().count == 4
    assert recorder.diffs() == [{"count": (2, 4)}]


@pytest.mark.parametrize(
    ("update", "message"),
    [
        (
            lambda: Book.objects.annotate(by=F("author__name")).update(title=F("by")),
            "Joined field references are not permitted in this query",
        ),
        (
            lambda: Author.objects.annotate(books_count=Count("books")).order_by("books_count").update(name="x"),
            "Cannot update when ordering by an aggregate",
        ),
        (lambda: Author.objects.update(no_such_field="x"), "no_such_field"),  # type: ignore[misc]
    ],
)
def test_an_update_django_refuses_raises_djangos_error_first(recorder: Recorder, update: object, message: str) -> None:
    author = Author.objects.create(name="Ada")
    Book.objects.create(title="Notes", author=author)
    Membership.objects.create(group=1, member=2)
    for model in (Author, Book, Membership):
        recorder.listen(model, events.PreRecordUpdate)
    with transaction.atomic():
        with pytest.raises((FieldError, FieldDoesNotExist), match=message):
            update()  # type: ignore[operator]
        Author.objects.create(name="after")  # the caller's transaction is not marked for rollback
    assert recorder.kinds == []
    assert Author.objects.count() == 2


def test_a_composite_pk_in_an_update_expression_raises_djangos_error(recorder: Recorder) -> None:
    Membership.objects.create(group=1, member=2)
    recorder.listen(Membership, events.PreRecordUpdate)
    with pytest.raises(FieldError, match="Composite primary keys expressions are not allowed"), transaction.atomic():
        Membership.objects.update(role=F("pk"))
    assert recorder.kinds == []


def test_a_many_to_many_change_in_a_doomed_transaction_raises_djangos_error(recorder: Recorder) -> None:
    article = Article.objects.create(title="Notes")
    recorder.listen(Article)
    with transaction.atomic():
        with pytest.raises(ValueError, match="expected a number but got 'invalid'"):
            article.tags.add("invalid")  # type: ignore[arg-type]  # Django marks the transaction for rollback
        assert connection.needs_rollback
        with pytest.raises(ValueError, match="expected a number but got 'invalid'"):
            article.tags.remove("invalid")  # type: ignore[arg-type]  # Django's error, before any query
        transaction.set_rollback(False)
    assert recorder.kinds == []


def test_an_update_of_a_queryset_grouped_by_an_aggregate_annotation(recorder: Recorder) -> None:
    # On PostgreSQL, FOR UPDATE is not allowed with GROUP BY: the rows are locked without it.
    ada = Author.objects.create(name="Ada")
    Author.objects.create(name="Grace")
    Book.objects.create(title="Notes", author=ada)
    recorder.listen(Author, events.PostRecordUpdate)
    assert Author.objects.annotate(books_count=Count("books")).filter(books_count=1).update(name="Ada L.") == 1
    assert sorted(Author.objects.values_list("name", flat=True)) == ["Ada L.", "Grace"]
    assert recorder.diffs() == [{"name": ("Ada", "Ada L.")}]
