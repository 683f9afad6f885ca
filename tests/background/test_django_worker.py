"""Durable delivery with Django: outbox, relay, ledger and dead letters, with real workers on Redis and RabbitMQ.

The emitting "web" processes are subprocesses (``tests/background/emit.py``)
sharing a PostgreSQL database with the worker, so that a test can kill one
between COMMIT and publish, or point it at a broker that is down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from canvas_core.background import _signing
from canvas_core.background.celery import TASK_NAME

from .conftest import POSTGRES_URL, Worker, run_module, start_worker, wait_for

DEAD_BROKERS = {"redis": "redis://127.0.0.1:1/0", "amqp": "amqp://guest:guest@127.0.0.1:1//"}


def emit(worker: Worker, scenario: str, token: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run one emitting process to the end."""
    return run_module(worker, "tests.background.emit", scenario, token, **environment)


def canvas_events(worker: Worker, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``canvas-events ARGUMENTS --django tests.background.worker_settings``."""
    return run_module(worker, "canvas_core.events", *arguments, "--django", "tests.background.worker_settings")


def query(worker: Worker, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
    database = worker.environment["CANVAS_TEST_BG_DATABASE"]
    with psycopg.connect(POSTGRES_URL.rsplit("/", 1)[0] + "/" + database) as connection:
        return connection.execute(sql, parameters).fetchall()


def dead_letters(worker: Worker) -> list[dict[str, Any]]:
    listed = canvas_events(worker, "dead-letters", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    letters: list[dict[str, Any]] = json.loads(listed.stdout)
    return letters


def send_raw(worker: Worker, message: object) -> None:
    """Publish ``message`` as the task's argument, as an attacker with access to the broker could."""
    worker.app().send_task(TASK_NAME, args=(message,), queue=worker.queue)


def drain(worker: Worker) -> None:
    """Wait until the worker handled everything sent before (one worker process, first in first out)."""
    token = uuid.uuid4().hex
    result = emit(worker, "update", token)
    assert result.returncode == 0, result.stderr
    worker.wait_json("book", token)


def letter_for(worker: Worker, predicate: Any, what: str) -> dict[str, Any]:
    letter: dict[str, Any] = wait_for(
        lambda: next((letter for letter in dead_letters(worker) if predicate(letter)), None),
        60,
        lambda: f"a dead letter {what}; the worker logged:\n{worker.log_text()[-3000:]}",
    )
    return letter


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex


def test_a_job_written_in_the_transaction_runs_once_in_the_worker(django_worker: Worker, token: str) -> None:
    result = emit(django_worker, "update", token)
    assert result.returncode == 0, result.stderr

    seen = django_worker.wait_json("book", token)
    assert seen["diff"] == ["metadata"]
    published = [json.loads(body) for body in django_worker.redis.lrange(django_worker.key("published", token), 0, -1)]
    [(message,), *_] = [body[0] for body in published]
    assert set(message) == {"jobs", "db", "attempt"}  # the broker carries a reference only
    drain(django_worker)
    assert django_worker.redis.get(django_worker.key("book-runs", token)) == "1"
    [(outcome, deliveries)] = query(
        django_worker, "SELECT outcome, deliveries FROM canvas_core_backgroundjob WHERE id = %s", message["jobs"][0]
    )
    assert (outcome, deliveries) == ("done", 1)


def test_a_rolled_back_transaction_leaves_no_job(django_worker: Worker, token: str) -> None:
    before = query(django_worker, "SELECT count(*) FROM canvas_core_backgroundjob")
    result = emit(django_worker, "rollback", token)
    assert result.returncode == 0, result.stderr
    assert query(django_worker, "SELECT count(*) FROM canvas_core_backgroundjob") == before
    assert django_worker.redis.llen(django_worker.key("published", token)) == 0


def test_an_emitter_killed_between_commit_and_publish_loses_nothing(django_worker: Worker, token: str) -> None:
    result = emit(django_worker, "killed-after-commit", token)
    assert result.returncode == -signal.SIGKILL
    assert django_worker.redis.llen(django_worker.key("published", token)) == 0  # it died before publishing
    [(pending,)] = query(
        django_worker,
        "SELECT count(*) FROM canvas_core_backgroundjob WHERE published_at IS NULL AND payload IS NOT NULL",
    )
    assert pending >= 1

    relayed = canvas_events(django_worker, "relay", "--once", "--older-than", "0")
    assert relayed.returncode == 0, relayed.stderr
    assert "published" in relayed.stdout

    django_worker.wait_json("book", token)
    again = canvas_events(django_worker, "relay", "--once", "--older-than", "0")
    assert again.stdout == "published 0 background job(s)\n"
    drain(django_worker)
    assert django_worker.redis.get(django_worker.key("book-runs", token)) == "1"


def test_a_job_committed_while_the_broker_is_down_waits_in_the_outbox(django_worker: Worker, token: str) -> None:
    dead_broker = DEAD_BROKERS["amqp" if django_worker.broker_url.startswith("amqp") else "redis"]
    result = emit(django_worker, "update", token, CANVAS_TEST_BROKER_URL=dead_broker)
    assert result.returncode == 0, result.stderr  # the emitter's commit stands
    assert "wait in the outbox" in result.stderr

    relayed = run_module(django_worker, "django", "canvas_relay", "--once", "--older-than", "0")
    assert relayed.returncode == 0, relayed.stderr
    django_worker.wait_json("book", token)
    drain(django_worker)
    assert django_worker.redis.get(django_worker.key("book-runs", token)) == "1"


def test_secrets_arrive_intact_and_never_reach_the_broker(django_worker: Worker, token: str) -> None:
    result = emit(django_worker, "secrets", token)
    assert result.returncode == 0, result.stderr

    assert django_worker.wait_json("secrets", token) == {"password": f"hunter2-{token}", "pin": f"4711-{token}"}
    bodies = " ".join(map(str, django_worker.redis.lrange(django_worker.key("published", token), 0, -1)))
    assert token not in bodies  # nor the event's other fields: the message is the job id


def test_a_deleted_record_reaches_the_worker_as_it_was(django_worker: Worker, token: str) -> None:
    result = emit(django_worker, "delete", token)
    assert result.returncode == 0, result.stderr
    assert django_worker.wait_json("deleted", token)["pk"] is not None


def test_a_redelivered_finished_job_does_not_run_again(django_worker: Worker, token: str) -> None:
    emit(django_worker, "update", token)
    django_worker.wait_json("book", token)
    [[message]] = [
        json.loads(body)[0] for body in django_worker.redis.lrange(django_worker.key("published", token), 0, -1)
    ]

    send_raw(django_worker, message)  # the broker delivers it again
    drain(django_worker)

    assert django_worker.redis.get(django_worker.key("book-runs", token)) == "1"


def _signed(payload: dict[str, Any]) -> dict[str, Any]:
    text = _signing.canonical(payload)
    return {"job": text, "sig": _signing.sign(text), "attempt": 0}


def _job(handler: str, registered_for: str, event_type: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "id": str(uuid.uuid4()),
        "handler": handler,
        "registered_for": registered_for,
        "event_type": event_type,
        "fields": fields,
        "records": [],
        "marker": "",
        **extra,
    }


BOOK_UPDATE = "canvas_core.events._records:PostRecordUpdate[model:testapp.book]"
BOOK_DELETE = "canvas_core.events._records:PostRecordDelete[model:testapp.book]"
BOOK_HANDLER = "tests.background.djangoapp.handlers:on_book_update"


def crafted_messages(token: str) -> Iterator[tuple[str, object]]:
    """(what the dead letter's reason says, a message an attacker with broker access could send)."""
    marker = "__canvas_record_x__"
    canary = _job("tests.background.canary:boom", "builtins:object", "builtins:object", {"token": token})
    yield "unsigned", {"job": _signing.canonical(canary), "sig": "0" * 64}
    yield "no background handler tests.background.canary:boom", _signed(canary)
    system = _job("os:system", BOOK_UPDATE, BOOK_UPDATE, {"command": f"touch /tmp/{token}"})
    yield "no background handler os:system", _signed(system)
    user = _job(
        BOOK_HANDLER,
        BOOK_UPDATE,
        BOOK_UPDATE,
        {"record": {marker: 0}, "diff": {}},
        records=[{"model": "auth.user", "pk": 1}],
        marker=marker,
    )
    yield "model 'auth.user'", _signed(user)
    snapshot = _job(
        "tests.background.djangoapp.handlers:on_book_delete",
        BOOK_DELETE,
        BOOK_DELETE,
        {"record": {marker: 0}},
        records=[{"model": "testapp.book", "pk": 1, "fields": {"title": token, "is_superuser": True}}],
        marker=marker,
    )
    yield "unknown field", _signed(snapshot)
    wrong_type = dict(
        snapshot, id=str(uuid.uuid4()), records=[{"model": "testapp.book", "pk": "x", "fields": {"title": token}}]
    )
    yield "invalid primary key", _signed(wrong_type)
    altered = _signed(_job(BOOK_HANDLER, BOOK_UPDATE, BOOK_UPDATE, {"diff": {}}))
    altered["job"] = altered["job"].replace('"diff":{}', '"diff":{"title":["a","b"]}')
    yield "signature does not match", altered
    yield "a job that is not in the outbox", {"jobs": [str(uuid.uuid4())], "db": "default"}
    yield "not a canvas-core job message", f"import os; os.system('touch /tmp/{token}')"


def test_crafted_messages_are_dead_lettered_and_nothing_is_imported_or_called(
    django_worker: Worker, token: str
) -> None:
    expectations = []
    for reason, message in crafted_messages(token):
        send_raw(django_worker, message)
        expectations.append(reason)
    drain(django_worker)

    reasons = [letter["reason"] for letter in dead_letters(django_worker)]
    for expected in expectations:
        assert any(expected in reason for reason in reasons), (expected, reasons)
    assert django_worker.redis.get(django_worker.key("canary")) is None  # never imported
    assert django_worker.redis.get(django_worker.key("boom")) is None
    assert not os.path.exists(f"/tmp/{token}")
    assert token not in django_worker.log_text()  # rejected without logging the values
    assert not any(letter["replayable"] for letter in dead_letters(django_worker) if token in letter["reason"])


def test_a_handler_raising_system_exit_is_retried_then_dead_lettered(django_worker: Worker, token: str) -> None:
    emit(django_worker, "poison-exit", token)

    letter = letter_for(django_worker, lambda letter: "SystemExit" in letter["reason"], "for SystemExit")
    assert "the handler failed 3 time(s)" in letter["reason"]
    assert letter["replayable"]
    drain(django_worker)
    assert django_worker.redis.get(django_worker.key("poison-attempts", token)) == "3"  # not forever


def test_a_job_that_keeps_killing_its_worker_is_dead_lettered(django_worker: Worker, token: str) -> None:
    emit(django_worker, "poison-kill", token)

    letter = letter_for(django_worker, lambda letter: "ended its worker process" in letter["reason"], "for kills")
    assert letter["handler"] == "tests.background.djangoapp.handlers:misbehave"
    # Three deliveries ended the worker; no fourth ran it. Under load a broker may count a delivery to a
    # worker process that dies (killed by the previous run) before starting the handler, so the handler
    # itself ran one to three times.
    assert 1 <= int(django_worker.redis.get(django_worker.key("poison-attempts", token)) or 0) <= 3
    drain(django_worker)  # the worker still works


def test_deploy_skew_is_dead_lettered_then_replayed_after_the_fix(
    django_worker: Worker, token: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    database = django_worker.environment["CANVAS_TEST_BG_DATABASE"]
    with start_worker(
        "tests.background.django_worker",
        django_worker.broker_url,
        django_worker.redis,
        tmp_path_factory,
        DJANGO_SETTINGS_MODULE="tests.background.worker_settings",
        CANVAS_TEST_BG_DATABASE=database,
        CANVAS_TEST_STRICT_CODES="1",
    ) as strict:
        # The web process still runs the old class.
        result = emit(strict, "code", token, CANVAS_TEST_CODE=f"lower-{token}", CANVAS_TEST_STRICT_CODES="")
        assert result.returncode == 0, result.stderr
        letter = letter_for(strict, lambda letter: "code: string_pattern_mismatch" in letter["reason"], "for skew")
        assert token not in letter["reason"]
        assert token not in strict.log_text()  # pydantic's input_value stays out of the log

    # The fix is deployed: a worker whose class accepts the code again.
    with start_worker(
        "tests.background.django_worker",
        django_worker.broker_url,
        django_worker.redis,
        tmp_path_factory,
        DJANGO_SETTINGS_MODULE="tests.background.worker_settings",
        CANVAS_TEST_BG_DATABASE=database,
    ) as fixed:
        replayed = canvas_events(fixed, "dead-letters", "replay", letter["id"])
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "replayed as job" in replayed.stdout
        wait_for(lambda: fixed.redis.get(fixed.key("code-runs", token)), 60, "the replayed job")
        assert letter["id"] not in {remaining["id"] for remaining in dead_letters(fixed)}
