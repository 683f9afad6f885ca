"""Handlers inside the caller's transaction, and delivery after commit."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from canvas_core import events
from canvas_core.django import after_commit
from tests.testapp.models import Author, Book, Counter

pytestmark = pytest.mark.django_db

CaptureOnCommit = Callable[..., Any]


class _CountHandlerCalls(events.Instrument):
    """Wraps every handler call, as OpenTelemetry's instrument does."""

    def __init__(self) -> None:
        self.calls = 0

    def handler(self, emission: events.Emission, handler: Callable[..., object]) -> contextlib.nullcontext[None]:
        self.calls += 1
        return contextlib.nullcontext()


@pytest.fixture(autouse=True, params=["plain", "instrumented"])
def dispatch_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every rule here holds with instruments installed too (each handler keeps its own savepoint)."""
    if request.param == "plain":
        yield request.param
        return
    instrument = _CountHandlerCalls()
    with events.instrumented(instrument):
        yield request.param


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split()[0].upper() for query in queries]


def _failing_sql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


def test_failing_sql_in_a_handler_leaves_the_callers_transaction_usable() -> None:
    failures: list[Exception] = []

    @events.handle_event(events.PostRecordUpdate, origin=Author)
    def broken(event: events.PostRecordUpdate[Author]) -> None:
        _failing_sql()

    @events.handle_event(events.HandlerFailed)
    def report(event: events.HandlerFailed) -> None:
        failures.append(event.exception)

    with transaction.atomic():
        author = Author.objects.create(name="Ada")
        author.name = "Grace"
        author.save()  # the handler's error is isolated...
        Counter.objects.create(name="after")  # ...and the transaction still works (PostgreSQL included)
    assert Author.objects.get().name == "Grace"
    assert Counter.objects.filter(name="after").exists()
    assert len(failures) == 1


def test_an_integrity_error_in_a_handler_does_not_doom_the_transaction() -> None:
    @events.handle_event(events.PostRecordCreate, origin=Book)
    def duplicate(event: events.PostRecordCreate[Book]) -> None:
        Book.objects.create(pk=event.record.pk, title="again", author=event.record.author)  # IntegrityError

    with transaction.atomic():
        Book.objects.create(title="Notes", author=Author.objects.create(name="Ada"))
        assert not connection.needs_rollback
        Counter.objects.create(name="after")  # no TransactionManagementError
    assert Book.objects.count() == 1


def test_other_handlers_writes_are_kept() -> None:
    @events.handle_event(events.PostRecordCreate, origin=Author)
    def audit(event: events.PostRecordCreate[Author]) -> None:
        Counter.objects.create(name=f"audit {event.record.name}")

    @events.handle_event(events.PostRecordCreate, origin=Author)
    def broken(event: events.PostRecordCreate[Author]) -> None:
        Counter.objects.create(name="half done")
        _failing_sql()

    with transaction.atomic():
        Author.objects.create(name="Ada")
    assert list(Counter.objects.values_list("name", flat=True)) == ["audit Ada"]


def test_delete_handlers_run_inside_djangos_delete_transaction_safely() -> None:
    @events.handle_event(events.PreRecordDelete, origin=Author)
    def broken(event: events.PreRecordDelete[Author]) -> None:
        _failing_sql()

    Author.objects.create(name="Ada").delete()
    assert not Author.objects.exists()


@pytest.mark.django_db(databases=["default", "other"])
def test_a_delete_in_a_delete_handler_guards_each_handler_on_its_own_database() -> None:
    """A delete nested in a delete handler, on another database: each handler's savepoint is on its database."""
    other = connections["other"]
    Counter.objects.using("other").create(name="elsewhere")

    @events.handle_event(events.PreRecordDelete, origin=Author)
    def delete_elsewhere(event: events.PreRecordDelete[Author]) -> None:
        Counter.objects.using("other").all().delete()
        Counter.objects.create(name="after the nested delete")  # on default, behind this handler's savepoint

    @events.handle_event(events.PreRecordDelete, origin=Counter)
    def broken_elsewhere(event: events.PreRecordDelete[Counter]) -> None:
        with other.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    @events.handle_event(events.PostRecordDelete, origin=Author)
    def broken(event: events.PostRecordDelete[Author]) -> None:
        _failing_sql()

    with transaction.atomic(), transaction.atomic(using="other"):
        Author.objects.create(name="Ada")
        Author.objects.all().delete()
        # Both transactions are still usable: each failing handler was rolled back to its own savepoint.
        assert not Counter.objects.using("other").exists()
        assert list(Counter.objects.values_list("name", flat=True)) == ["after the nested delete"]
    assert not Author.objects.exists()
    assert not Counter.objects.using("other").exists()


def test_the_write_survives_a_failing_pre_handler() -> None:
    @events.handle_event(events.PreRecordCreate, origin=Author)
    def broken(event: events.PreRecordCreate[Author]) -> None:
        Counter.objects.create(name="half done")
        raise RuntimeError("boom")

    Author.objects.create(name="Ada")
    assert Author.objects.exists()
    assert not Counter.objects.exists()  # the failing handler's own writes are undone


def test_savepoints_cost_two_statements_per_handler_that_queries_and_none_otherwise() -> None:
    @events.handle_event(events.PostRecordCreate, origin=Author)
    def audit(event: events.PostRecordCreate[Author]) -> None:
        Counter.objects.create(name="audit")

    @events.handle_event(events.PostRecordCreate, origin=Author)
    def pure(event: events.PostRecordCreate[Author]) -> None:
        event.record.name.upper()

    with CaptureQueriesContext(connection) as queries:
        Author.objects.create(name="Ada")
    assert _statements(queries) == ["INSERT", "SAVEPOINT", "INSERT", "RELEASE"]


def test_nested_writes_in_handlers_nest_their_savepoints() -> None:
    @events.handle_event(events.PostRecordCreate, origin=Author)
    def count(event: events.PostRecordCreate[Author]) -> None:
        Counter.objects.create(name="count")

    @events.handle_event(events.PostRecordCreate, origin=Counter)
    def broken(event: events.PostRecordCreate[Counter]) -> None:
        _failing_sql()

    Author.objects.create(name="Ada")
    assert Counter.objects.count() == 1


# -- after commit --------------------------------------------------------------------------------


def test_after_commit_runs_on_commit_with_the_diff_of_its_save(
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    seen: list[dict[str, tuple[Any, Any]]] = []

    @events.handle_event(events.PostRecordUpdate, origin=Author)
    @after_commit
    def notify(event: events.PostRecordUpdate[Author]) -> None:
        seen.append(event.diff)

    author = Author.objects.create(name="Ada")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        author.name = "Grace"
        author.save()
        author.name = "Hedy"
        author.save()
        assert seen == []
    assert seen == [{"name": ("Ada", "Grace")}, {"name": ("Grace", "Hedy")}]


def test_after_commit_delivers_nothing_on_rollback(django_capture_on_commit_callbacks: CaptureOnCommit) -> None:
    seen: list[str] = []

    @events.handle_event(events.PostRecordCreate, origin=Author)
    @after_commit
    def welcome(event: events.PostRecordCreate[Author]) -> None:
        seen.append(event.record.name)

    with django_capture_on_commit_callbacks(execute=True):
        _create_then_roll_back()
        Author.objects.create(name="Grace")
    assert seen == ["Grace"]


def _create_then_roll_back() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        Author.objects.create(name="Ada")
        raise RuntimeError("roll back")


def test_after_commit_failures_are_reported(django_capture_on_commit_callbacks: CaptureOnCommit) -> None:
    failures: list[Exception] = []

    @events.handle_event(events.PostRecordCreate, origin=Author)
    @after_commit
    def broken(event: events.PostRecordCreate[Author]) -> None:
        raise RuntimeError("mail server down")

    @events.handle_event(events.HandlerFailed)
    def report(event: events.HandlerFailed) -> None:
        failures.append(event.exception)

    with django_capture_on_commit_callbacks(execute=True):
        Author.objects.create(name="Ada")
    assert [str(exc) for exc in failures] == ["mail server down"]


def test_after_commit_keeps_the_name_for_remove_handler() -> None:
    @events.handle_event(events.PostRecordCreate, origin=Author)
    @after_commit
    def welcome(event: events.PostRecordCreate[Author]) -> None: ...

    assert welcome.__name__ == "welcome"
    assert events.remove_handler(welcome) == 1


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_handlers_run_without_savepoints_and_after_commit_at_once() -> None:
    order: list[str] = []

    @events.handle_event(events.PostRecordCreate, origin=Author)
    def audit(event: events.PostRecordCreate[Author]) -> None:
        order.append("audit")
        _failing_sql()

    @events.handle_event(events.PostRecordCreate, origin=Author)
    @after_commit
    def welcome(event: events.PostRecordCreate[Author]) -> None:
        order.append("welcome")

    with CaptureQueriesContext(connection) as queries:
        Author.objects.create(name="Ada")
    assert "SAVEPOINT" not in _statements(queries)
    assert sorted(order) == ["audit", "welcome"]
    assert Author.objects.count() == 1


def test_after_commit_gets_the_diff_as_it_was_at_emission(
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    seen: list[dict[str, tuple[Any, Any]]] = []

    @events.handle_event(events.PostRecordUpdate, origin=Author)
    @after_commit
    def notify(event: events.PostRecordUpdate[Author]) -> None:
        seen.append(event.diff)

    author = Author.objects.create(name="Ada")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = events.emit_event(
            events.PostRecordUpdate[Author], origin=Author, record=author, diff={"name": ("Ada", "Grace")}
        )
        event.diff["name"] = ("changed", "later")  # after emission, before the commit
    assert seen == [{"name": ("Ada", "Grace")}]


@pytest.mark.parametrize("handler", [42, "print"])
def test_after_commit_refuses_what_cannot_be_a_handler(handler: Any) -> None:
    with pytest.raises(TypeError, match="callable"):
        after_commit(handler)


def test_after_commit_refuses_coroutine_functions() -> None:
    async def notify(event: events.PostRecordCreate[Author]) -> None: ...

    with pytest.raises(TypeError, match="coroutine"):
        after_commit(notify)


@pytest.mark.django_db(transaction=True)
def test_after_commit_under_manual_transaction_management_runs_after_the_commit() -> None:
    seen: list[str] = []
    failures: list[Exception] = []
    events.handle_event(events.HandlerFailed)(lambda event: failures.append(event.exception))

    @events.handle_event(events.PostRecordCreate, origin=Author)
    @after_commit
    def welcome(event: events.PostRecordCreate[Author]) -> None:
        seen.append(event.record.name)

    transaction.set_autocommit(False)
    try:
        Author.objects.create(name="Ada")
        transaction.rollback()  # dropped with the write it followed
        Author.objects.create(name="Grace")
        assert seen == []
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    assert seen == ["Grace"]
    assert failures == []


def test_a_failing_handlers_on_commit_callbacks_are_dropped_even_without_sql(
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    ran: list[str] = []

    @events.handle_event(events.PostRecordCreate, origin=Author)
    def schedule_then_fail(event: events.PostRecordCreate[Author]) -> None:
        transaction.on_commit(lambda: ran.append("before any query"))
        raise RuntimeError("fails before any SQL")

    @events.handle_event(events.PostRecordCreate, origin=Author)
    def schedule_query_then_fail(event: events.PostRecordCreate[Author]) -> None:
        transaction.on_commit(lambda: ran.append("before its query"))
        Counter.objects.create(name="the handler's write")
        raise RuntimeError("fails after its SQL")

    @events.handle_event(events.PostRecordCreate, origin=Author)
    def schedule(event: events.PostRecordCreate[Author]) -> None:
        transaction.on_commit(lambda: ran.append("by a working handler"))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Author.objects.create(name="Ada")
    assert ran == ["by a working handler"]
    assert not Counter.objects.exists()
    assert Author.objects.get().name == "Ada"


def test_a_handler_swallowing_an_error_inside_atomic_without_savepoint_is_reported() -> None:
    failures: list[Exception] = []
    events.handle_event(events.HandlerFailed)(lambda event: failures.append(event.exception))

    @events.handle_event(events.PostRecordCreate, origin=Author)
    def swallow(event: events.PostRecordCreate[Author]) -> None:
        try:
            with transaction.atomic(savepoint=False):
                Counter.objects.create(name="the handler's write")
                _failing_sql()
        except DatabaseError:
            pass  # the transaction is now marked for rollback: the write above is lost

    with transaction.atomic():
        Author.objects.create(name="Ada")
        Counter.objects.create(name="the caller's write, after")
    assert [type(exc) for exc in failures] == [TransactionManagementError]
    assert "atomic(savepoint=False)" in str(failures[0])
    assert list(Counter.objects.values_list("name", flat=True)) == ["the caller's write, after"]
    assert Author.objects.get().name == "Ada"


def test_a_handler_marking_the_transaction_for_rollback_without_sql_dooms_nothing() -> None:
    @events.handle_event(events.PostRecordCreate, origin=Author)
    def swallow(event: events.PostRecordCreate[Author]) -> None:
        try:
            with transaction.atomic(savepoint=False):
                raise ValueError("before any query")
        except ValueError:
            pass

    with transaction.atomic():
        Author.objects.create(name="Ada")
        Counter.objects.create(name="after")
    assert Counter.objects.count() == 1
