"""Background handlers on a real Celery worker, against Redis."""

from __future__ import annotations

import json
import os
import signal
import uuid

import pytest
from pydantic import SecretStr

from canvas_core import background, events
from canvas_core.background import Job, _signing
from canvas_core.background._serialization import handler_name
from canvas_core.background.celery import CeleryEngine

from . import handlers
from .conftest import Worker, wait_for


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
