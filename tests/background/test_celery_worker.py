"""Background handlers on a real Celery worker, against Redis."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import uuid
from typing import Any

import pytest
from pydantic import SecretStr

from canvas_core import background, events
from canvas_core.background import Job, _signing
from canvas_core.background._serialization import handler_name
from canvas_core.background.celery import TASK_NAME, CeleryEngine
from canvas_core.background.ledger import RedisLedger

from . import handlers
from .conftest import Worker, run_module, wait_for


@pytest.fixture
def engine(celery_worker: Worker) -> CeleryEngine:
    """This process enqueues on the worker's queue."""
    engine = CeleryEngine(celery_worker.app(), retries=2, retry_delay=0.05)
    background.use_engine(engine)
    return engine


def _token() -> str:
    return uuid.uuid4().hex


def test_the_worker_runs_the_handler_with_a_copy_of_the_event(engine: CeleryEngine, celery_worker: Worker) -> None:
    events.handle_event(handlers.Ping, background=True)(handlers.record_ping)
    token = _token()

    event = events.emit_event(handlers.Ping, token=token, n=7)

    seen = celery_worker.wait_json("ping", token)
    assert seen["n"] == 7
    assert seen["pid"] != os.getpid()  # it ran elsewhere
    assert event.n == 7  # the worker's change to its copy never comes back


def test_a_failing_handler_is_retried_then_reported_in_the_worker(engine: CeleryEngine, celery_worker: Worker) -> None:
    events.handle_event(handlers.Ping, background=True)(handlers.always_fails)
    token = _token()

    events.emit_event(handlers.Ping, token=token, n=1)

    failure = celery_worker.wait_json("failed", token)
    assert failure == {"handler": "always_fails", "exception": f"always_fails refused {token}"}
    assert celery_worker.redis.get(celery_worker.key("attempts", token)) == "3"  # first try + 2 retries
    log = wait_for(
        lambda: (
            "Handler tests.background.handlers.always_fails failed while handling Ping" in celery_worker.log_text()
            and celery_worker.log_text()
        ),
        10,
        "the failure in the worker's log",
    )
    assert "retrying in" in log


def test_an_event_survives_a_worker_process_killed_mid_task(engine: CeleryEngine, celery_worker: Worker) -> None:
    events.handle_event(handlers.Ping, background=True)(handlers.dies_on_first_attempt)
    token = _token()

    events.emit_event(handlers.Ping, token=token, n=1)
    pid = int(celery_worker.wait_json("pid", token))
    os.kill(pid, signal.SIGKILL)

    finished_by = int(celery_worker.wait_json("done", token, timeout=60))
    assert finished_by != pid
    assert celery_worker.redis.get(celery_worker.key("attempts", token)) == "2"


def test_a_job_with_secrets_sent_without_the_outbox_is_sealed_and_arrives_intact(
    engine: CeleryEngine, celery_worker: Worker
) -> None:
    token = _token()
    event = handlers.Credentials(token=token, password=SecretStr("hunter2-secret"), pin="4321")
    job = Job.for_event(handler_name(handlers.record_credentials), handlers.Credentials, event)
    message = engine._signed(job)
    assert set(message) == {"sealed", "attempt"}
    body = json.dumps(message)
    assert "hunter2-secret" not in body
    assert "4321" not in body
    assert token not in body  # the whole job is sealed, not only the secret fields

    engine.enqueue(job)  # as a process without Django publishes it

    assert celery_worker.wait_json("credentials", token) == {"password": "hunter2-secret", "pin": "4321"}


def test_a_tampered_sealed_message_is_rejected(engine: CeleryEngine) -> None:
    event = handlers.Credentials(token=_token(), password=SecretStr("s"), pin="1")
    message = engine._signed(Job.for_event(handler_name(handlers.record_credentials), handlers.Credentials, event))
    sealed = message["sealed"]
    forged = {**message, "sealed": sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]}
    assert _signing.unseal(forged["sealed"]) is None
    assert _signing.unseal(sealed) is not None
    assert _signing.unseal(12) is None


# -- without Django, with a RedisLedger: nothing is dropped, nothing loops ---------------------------------


WORKER_APP = "tests.background.celery_worker"


@pytest.fixture
def ledger_engine(ledger_worker: Worker) -> CeleryEngine:
    engine = CeleryEngine(ledger_worker.app(), retries=2, retry_delay=0.05, ledger=_ledger(ledger_worker))
    background.use_engine(engine)
    return engine


def _ledger(worker: Worker) -> RedisLedger:
    return RedisLedger(worker.environment["CANVAS_TEST_REDIS_URL"], prefix=worker.prefix)


def dead_letters(worker: Worker, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``canvas-events dead-letters ARGUMENTS --app tests.background.celery_worker``."""
    return run_module(worker, "canvas_core.events", "dead-letters", *arguments, "--app", WORKER_APP)


def enqueue(engine: CeleryEngine, handler: Any, token: str, n: int = 1) -> Job:
    """Enqueue one job for ``handler``, as ``emit_event`` would (and only that one)."""
    job = Job.for_event(handler_name(handler), handlers.Ping, handlers.Ping(token=token, n=n))
    engine.enqueue(job)
    return job


def letter_for(worker: Worker, job_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        listed = dead_letters(worker, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        return next((letter for letter in json.loads(listed.stdout) if letter["job_id"] == job_id), None)

    letter: dict[str, Any] = wait_for(
        find, 60, lambda: f"a dead letter for job {job_id}; the worker logged:\n{worker.log_text()[-3000:]}"
    )
    return letter


def test_without_django_a_job_that_keeps_killing_its_worker_is_dead_lettered(
    ledger_engine: CeleryEngine, ledger_worker: Worker
) -> None:
    token = _token()

    poison = enqueue(ledger_engine, handlers.kills_its_worker, token)

    letter = letter_for(ledger_worker, poison.id)
    assert "3 deliveries of the job ended its worker process" in letter["reason"]
    assert letter["handler"] == "tests.background.handlers:kills_its_worker"
    assert letter["replayable"]
    assert 1 <= int(ledger_worker.redis.get(ledger_worker.key("attempts", token)) or 0) <= 3  # not forever
    enqueue(ledger_engine, handlers.record_ping, token, n=2)
    assert ledger_worker.wait_json("ping", token, timeout=60)["n"] == 2  # the worker still works


def test_without_django_a_handler_raising_system_exit_is_dead_lettered_and_replayed(
    ledger_engine: CeleryEngine, ledger_worker: Worker
) -> None:
    token = _token()

    letter = letter_for(ledger_worker, enqueue(ledger_engine, handlers.exits, token).id)

    assert "SystemExit" in letter["reason"]
    assert "the handler failed 3 time(s)" in letter["reason"]
    assert ledger_worker.redis.get(ledger_worker.key("attempts", token)) == "3"
    replayed = dead_letters(ledger_worker, "replay", letter["id"])
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replayed as job" in replayed.stdout
    wait_for(
        lambda: ledger_worker.redis.get(ledger_worker.key("attempts", token)) == "6", 60, "the replayed job's runs"
    )
    [new_id] = re.findall(r"replayed as job (\S+)", replayed.stdout)
    again = letter_for(ledger_worker, new_id)  # it still fails: a dead letter again, under its new id
    discarded = dead_letters(ledger_worker, "discard", again["id"])
    assert discarded.returncode == 0, discarded.stderr
    assert "discarded 1 dead letter(s)" in discarded.stdout


def test_without_django_a_redelivered_finished_job_does_not_run_again(
    ledger_engine: CeleryEngine, ledger_worker: Worker
) -> None:
    events.handle_event(handlers.Ping, background=True)(handlers.count)
    token = _token()
    job = Job.for_event(handler_name(handlers.count), handlers.Ping, handlers.Ping(token=token, n=1))
    message = ledger_engine._signed(job)

    ledger_worker.app().send_task(TASK_NAME, args=(message,), queue=ledger_worker.queue)
    wait_for(lambda: ledger_worker.redis.get(ledger_worker.key("count", token)), 30, "the first run")
    ledger_worker.app().send_task(TASK_NAME, args=(message,), queue=ledger_worker.queue)  # delivered again
    ping = Job.for_event(handler_name(handlers.record_ping), handlers.Ping, handlers.Ping(token=token, n=3))
    ledger_engine.enqueue(ping)
    ledger_worker.wait_json("ping", token)  # one worker process, first in first out: the redelivery ran before

    assert ledger_worker.redis.get(ledger_worker.key("count", token)) == "1"


def test_without_django_the_cli_says_what_to_do_when_the_engine_has_no_ledger(celery_worker: Worker) -> None:
    listed = dead_letters(celery_worker, "list")
    assert listed.returncode == 1
    assert "RedisLedger" in listed.stderr
