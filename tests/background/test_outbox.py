"""The Django outbox in the emitting process: a row in the transaction, published after the commit.

The broker is real Redis (a queue no worker consumes, read back directly);
the worker's side is tested in ``test_django_worker``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from pydantic import SecretStr

from canvas_core import background, events
from canvas_core.background import _outbox
from canvas_core.background.celery import CeleryEngine
from canvas_core.models import BackgroundJob
from tests.testapp.models import Author, Book

from . import handlers
from .celery_app import make_app
from .conftest import REDIS_URL

pytestmark = pytest.mark.django_db(transaction=True)


def on_book(event: events.PostRecordUpdate[Book]) -> None:
    pass


def on_any_creation(event: events.PostRecordCreate[Any]) -> None:
    pass


@pytest.fixture
def queue(redis_client: redis.Redis) -> Iterator[str]:
    name = f"canvas-outbox-{uuid.uuid4().hex[:10]}"
    yield name
    redis_client.delete(name)


@pytest.fixture
def engine(queue: str) -> CeleryEngine:
    engine = CeleryEngine(make_app(REDIS_URL, queue))
    background.use_engine(engine)
    return engine


def published(client: redis.Redis, queue: str) -> list[Any]:
    """The task arguments of the messages waiting in ``queue``."""
    return [json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0] for raw in client.lrange(queue, 0, -1)]


@pytest.fixture
def book() -> Book:
    return Book.objects.create(title="Dune", author=Author.objects.create(name="Frank Herbert"))


def test_the_jobs_are_rows_written_by_the_commit_and_published_after_it(
    engine: CeleryEngine, queue: str, book: Book, redis_client: redis.Redis
) -> None:
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book)

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        book.title = "Dune Messiah"
        book.save()
        book.title = "Children of Dune"
        book.save()
        assert not BackgroundJob.objects.exists()  # staged in memory until the COMMIT
    engine.relay().flush()

    # One INSERT for both jobs, inside the transaction, and no savepoint around it.
    job_table = BackgroundJob._meta.db_table
    writes = [sql for query in queries.captured_queries if job_table in (sql := query["sql"]) and sql[:6] != "SELECT"]
    assert len(writes) == 1, writes
    assert writes[0].startswith("INSERT")
    assert not any("SAVEPOINT" in query["sql"] for query in queries.captured_queries)
    rows = list(BackgroundJob.objects.order_by("created_at"))
    assert len(rows) == 2
    assert all(row.payload is not None and row.published_at is not None for row in rows)
    messages = published(redis_client, queue)
    assert sorted(job for message in messages for job in message["jobs"]) == sorted(str(row.id) for row in rows)
    assert all(message["db"] == "default" and message["attempt"] == 0 for message in messages)


def test_a_job_that_cannot_be_written_fails_the_commit_and_the_write_with_it(
    engine: CeleryEngine, queue: str, book: Book, redis_client: redis.Redis
) -> None:
    """Committing the data without its job is the loss the outbox exists to prevent."""
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book)
    table = connection.ops.quote_name(BackgroundJob._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO canvas_core_backgroundjob_away")
    book.title = "Dune Messiah"
    try:
        with pytest.raises(DatabaseError), transaction.atomic():
            book.save()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE canvas_core_backgroundjob_away RENAME TO {table}")
    engine.relay().flush()

    book.refresh_from_db()
    assert book.title == "Dune"
    assert not BackgroundJob.objects.exists()
    assert published(redis_client, queue) == []


def test_a_job_of_a_rolled_back_savepoint_is_not_written(
    engine: CeleryEngine, queue: str, book: Book, redis_client: redis.Redis
) -> None:
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book)

    with transaction.atomic():
        with contextlib.suppress(RuntimeError), transaction.atomic():
            book.title = "Dune Messiah"
            book.save()
            raise RuntimeError("abort the savepoint")
        book.title = "Children of Dune"
        book.save()
    engine.relay().flush()

    [row] = BackgroundJob.objects.all()
    assert row.payload is not None
    assert row.payload["fields"]["diff"]["title"][1] == "Children of Dune"
    assert [message["jobs"] for message in published(redis_client, queue)] == [[str(row.id)]]


@pytest.mark.django_db
def test_a_test_transaction_writes_its_jobs_when_its_commit_callbacks_run(
    engine: CeleryEngine, queue: str, book: Book, redis_client: redis.Redis, django_capture_on_commit_callbacks: Any
) -> None:
    """In a test case's transaction, which never commits, the jobs are written when the callbacks are run."""
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        book.title = "Dune Messiah"
        book.save()
    engine.relay().flush()

    [row] = BackgroundJob.objects.all()
    assert row.payload is not None
    assert [message["jobs"] for message in published(redis_client, queue)] == [[str(row.id)]]


def test_a_rolled_back_transaction_leaves_no_row_and_no_message(
    engine: CeleryEngine, queue: str, book: Book, redis_client: redis.Redis
) -> None:
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book)

    def write_then_fail() -> None:
        with transaction.atomic():
            book.save()
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        write_then_fail()
    engine.relay().flush()

    assert not BackgroundJob.objects.exists()
    assert published(redis_client, queue) == []


def test_a_transaction_of_many_jobs_writes_them_all_in_few_statements(
    engine: CeleryEngine, queue: str, redis_client: redis.Redis
) -> None:
    """More jobs than one statement may carry (the backend's variable limit; at most 1,000 rows a statement)."""
    events.handle_event(handlers.Ping, background=True)(handlers.count)

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for n in range(2_500):
            events.emit_event(handlers.Ping, token="many", n=n)
    engine.relay().flush()

    inserts = [query for query in queries.captured_queries if query["sql"].startswith("INSERT")]
    # As many rows a statement as the backend takes (SQLite: its variable limit, which newer SQLite and
    # Django raise from 999), at most 1,000.
    fields = list(BackgroundJob._meta.concrete_fields)
    rows_per_statement = min(connection.ops.bulk_batch_size(fields, [None] * 2_500), 1000)
    assert rows_per_statement < 2_500  # several statements, or the test proves nothing
    assert len(inserts) == -(-2_500 // rows_per_statement)
    assert BackgroundJob.objects.count() == 2_500
    assert not BackgroundJob.objects.filter(published_at__isnull=True).exists()
    assert sum(len(message["jobs"]) for message in published(redis_client, queue)) == 2_500


def test_rows_written_without_the_orm_read_back_as_the_orm_writes_them() -> None:
    """The INSERT is built once per shape, constant defaults written out: what it stores must not differ."""
    first, second, taken = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    payload = {"v": 1, "text": 'it\'s "quoted"; DROP TABLE x; --', "n": [1, 2.5, None], "nested": {"ok": True}}
    BackgroundJob.objects.create(id=taken, handler="already:there", event_type="e:E")

    with CaptureQueriesContext(connection) as queries:
        _outbox._insert(
            BackgroundJob,
            connection.alias,
            [
                {"id": first, "handler": "shop.handlers:on_order", "event_type": "shop:Ordered", "payload": payload},
                # another shape: no payload, a handler name that is not a str, deliveries given
                {"id": second, "handler": 42, "event_type": "shop:Ordered", "deliveries": 3},
                {"id": taken, "handler": "other:one", "event_type": "e:E"},  # conflicts: ignored
            ],
            ignore_conflicts=True,
        )

    (insert,) = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT")]
    one, two = BackgroundJob.objects.get(id=first), BackgroundJob.objects.get(id=second)
    assert (one.handler, one.event_type, one.payload) == ("shop.handlers:on_order", "shop:Ordered", payload)
    assert (one.deliveries, one.attempts, one.outcome, one.published_at, one.finished_at) == (0, 0, "", None, None)
    assert one.created_at is not None
    assert (two.handler, two.payload, two.deliveries) == ("42", None, 3)
    assert BackgroundJob.objects.get(id=taken).handler == "already:there"
    assert "DROP TABLE" in insert  # the payload went in as a quoted value (the logged SQL shows it)...
    assert BackgroundJob.objects.count() == 3  # ...and nothing else ran

    # One shape a statement: a batch of jobs written at commit (the outbox's own rows) leaves the
    # defaults no row gives as literals, not parameters.
    with CaptureQueriesContext(connection) as queries:
        _outbox._insert(BackgroundJob, connection.alias, [{"id": uuid.uuid4(), "handler": "h:h", "event_type": "e:E"}])
    (insert,) = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT")]
    assert "NULL, 0, 0, NULL, ''" in insert


def test_canvas_cores_own_rows_emit_no_record_events(engine: CeleryEngine, book: Book) -> None:
    """A background handler of every creation would otherwise enqueue a job for each job, without end."""
    seen: list[type[Any]] = []
    events.handle_event(events.PostRecordCreate)(lambda event: seen.append(type(event.record)))
    events.handle_event(events.PostRecordCreate, background=True)(on_any_creation)

    with transaction.atomic():
        Author.objects.create(name="Ursula K. Le Guin")
    engine.relay().flush()

    assert seen == [Author]
    assert BackgroundJob.objects.count() == 1


def test_the_recovery_relay_publishes_what_was_left_once(
    engine: CeleryEngine, queue: str, book: Book, redis_client: redis.Redis
) -> None:
    events.handle_event(events.PostRecordUpdate[Book], background=True)(on_book)
    down = CeleryEngine(make_app("redis://127.0.0.1:1/0", queue))  # the broker is down at the commit
    background.use_engine(down)
    with transaction.atomic():
        book.save()
    down.relay().flush()
    assert published(redis_client, queue) == []

    assert _outbox.relay_pending(engine.publish_ids, older_than=0) == 1
    assert _outbox.relay_pending(engine.publish_ids, older_than=0) == 0
    [message] = published(redis_client, queue)
    assert message["jobs"] == [str(BackgroundJob.objects.get().id)]


def test_several_relays_publish_each_job_once(engine: CeleryEngine, queue: str, redis_client: redis.Redis) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SELECT ... FOR UPDATE SKIP LOCKED needs PostgreSQL (the PostgreSQL run covers this)")
    from django.utils import timezone

    jobs: list[dict[str, Any]] = [
        {"id": uuid.uuid4(), "handler": "h", "event_type": "e", "payload": {"v": 1}, "created_at": timezone.now()}
        for _ in range(300)
    ]
    _outbox._insert(BackgroundJob, "default", jobs)

    def relay() -> None:
        try:
            _outbox.relay_pending(engine.publish_ids, older_than=0, batch_size=20)
        finally:
            connection.close()

    relays = [threading.Thread(target=relay) for _ in range(3)]
    for thread in relays:
        thread.start()
    for thread in relays:
        thread.join()

    ids = [job_id for message in published(redis_client, queue) for job_id in message["jobs"]]
    assert sorted(ids) == sorted(str(job["id"]) for job in jobs)


class Login(events.Event):
    user: str
    password: SecretStr


class Visit(events.Event):
    path: str


def on_login(event: Login) -> None:
    pass


def on_visit(event: Visit) -> None:
    pass


def test_an_event_with_secrets_goes_through_the_outbox_even_outside_a_transaction(
    engine: CeleryEngine, queue: str, redis_client: redis.Redis
) -> None:
    events.handle_event(Login, background=True)(on_login)

    events.emit_event(Login, user="ada", password=SecretStr("hunter2-secret"))
    engine.relay().flush()

    [message] = published(redis_client, queue)
    assert set(message) == {"jobs", "db", "attempt"}
    assert "hunter2" not in " ".join(map(str, redis_client.lrange(queue, 0, -1)))
    assert BackgroundJob.objects.get().payload["fields"]["password"] == "hunter2-secret"


def test_an_event_without_secrets_outside_a_transaction_is_published_signed(
    engine: CeleryEngine, queue: str, redis_client: redis.Redis
) -> None:
    events.handle_event(Visit, background=True)(on_visit)

    events.emit_event(Visit, path="/books")

    [message] = published(redis_client, queue)
    assert set(message) == {"job", "sig", "attempt"}
    assert not BackgroundJob.objects.exists()
