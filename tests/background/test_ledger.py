"""The Redis ledger of workers without Django: delivery counts, finished jobs, dead letters, replay (real Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from pydantic import SecretStr, field_validator

from canvas_core import background, events
from canvas_core.background import Job, _signing
from canvas_core.background._serialization import handler_name
from canvas_core.background.celery import CeleryEngine
from canvas_core.background.ledger import RedisLedger

from . import handlers
from .conftest import REDIS_URL


@pytest.fixture
def ledger(redis_client: redis.Redis) -> Iterator[RedisLedger]:
    prefix = f"canvas-tests:ledger:{uuid.uuid4().hex[:12]}"
    yield RedisLedger(REDIS_URL, prefix=prefix)
    keys = list(redis_client.scan_iter(f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


def _ping_job(handler: object = handlers.count, token: str = "t") -> Job:
    return Job.for_event(handler_name(handler), handlers.Ping, handlers.Ping(token=token, n=1))


def test_deliveries_that_never_ended_are_counted_as_lost(ledger: RedisLedger) -> None:
    job = _ping_job()
    assert ledger.begin([job]) == {job.id: background.ledger.Delivery(finished=False, lost=0)}
    # That delivery never reported back (its worker was killed): the next one sees it.
    assert ledger.begin([job])[job.id].lost == 1
    ledger.attempt_ended([job.id])  # a run that failed and was handed on is not lost
    assert ledger.begin([job])[job.id].lost == 1


def test_a_finished_job_is_known_as_finished_and_expires(ledger: RedisLedger, redis_client: redis.Redis) -> None:
    job, other = _ping_job(), _ping_job()
    ledger.begin([job, other])
    ledger.finish([job.id])

    deliveries = ledger.begin([job, other])
    assert deliveries[job.id].finished
    assert not deliveries[other.id].finished
    [key] = [key for key in redis_client.scan_iter(f"{ledger.prefix}:*") if key.endswith(job.id)]
    assert 0 < redis_client.ttl(key) <= ledger.keep


def test_a_sealed_dead_letter_keeps_no_secret_in_redis_and_replays_intact(
    ledger: RedisLedger, redis_client: redis.Redis
) -> None:
    events.handle_event(handlers.Credentials, background=True)(handlers.record_credentials)
    event = handlers.Credentials(token="tok", password=SecretStr("hunter2-secret"), pin="9931")
    job = Job.for_event(handler_name(handlers.record_credentials), handlers.Credentials, event)

    ledger.dead_letter(job, job_id=job.id, reason="the handler failed")

    stored = "".join(str(redis_client.dump(key)) for key in redis_client.scan_iter(f"{ledger.prefix}:*"))
    assert "hunter2-secret" not in stored
    assert "9931" not in stored
    [letter] = ledger.dead_letters()
    assert letter.replayable
    assert letter.handler == job.handler
    assert letter.job_id == job.id

    enqueued: list[Job] = []
    engine = type("Recorder", (), {"enqueue": staticmethod(enqueued.append)})()
    [outcome] = ledger.replay(None, engine)
    assert outcome.error is None
    assert outcome.job_id != job.id
    [fresh] = enqueued
    assert fresh.sealed
    assert fresh.fields == job.fields
    assert ledger.dead_letters() == []


def test_an_altered_dead_letter_is_not_replayed(ledger: RedisLedger, redis_client: redis.Redis) -> None:
    events.handle_event(handlers.Ping, background=True)(handlers.count)
    letter_id = ledger.dead_letter(_ping_job(), job_id="x", reason="failed")
    stored = json.loads(redis_client.hget(ledger._letters_key, letter_id) or "")
    stored["message"]["job"] = stored["message"]["job"].replace('"n":1', '"n":2')
    redis_client.hset(ledger._letters_key, letter_id, json.dumps(stored))

    [outcome] = ledger.replay([letter_id], background.InProcessEngine())

    assert outcome.job_id is None
    assert "signature does not match" in (outcome.error or "")
    assert [letter.id for letter in ledger.dead_letters()] == [letter_id]  # still there, for a look


def test_a_letter_from_an_untrusted_message_is_listed_but_not_replayable(ledger: RedisLedger) -> None:
    ledger.dead_letter(None, job_id="", reason="the message is unsigned")
    [letter] = ledger.dead_letters()
    assert not letter.replayable
    [outcome] = ledger.replay(None, background.InProcessEngine())
    assert "not replayable" in (outcome.error or "")


def test_discard(ledger: RedisLedger) -> None:
    first = ledger.dead_letter(None, job_id="", reason="a")
    ledger.dead_letter(None, job_id="", reason="b")
    assert ledger.discard([first, "not-a-letter"]) == 1
    assert [letter.reason for letter in ledger.dead_letters()] == ["b"]
    assert ledger.discard(None) == 1
    assert ledger.dead_letters() == []


def test_the_ledger_does_not_show_its_url() -> None:
    assert "s3cret" not in repr(RedisLedger("redis://:s3cret@127.0.0.1:6379/0", prefix="p"))


class Strict(events.Event):
    code: str

    @field_validator("code")
    @classmethod
    def _upper(cls, value: str) -> str:
        if STRICT and not value.isupper():
            raise ValueError("the code must be upper case")
        return value


STRICT = False
_ran: list[str] = []


def on_strict(event: Strict) -> None:
    _ran.append(event.code)


@pytest.fixture
def handler_keys(ledger: RedisLedger, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the handlers of ``tests.background.handlers`` write, when they run in this process."""
    monkeypatch.setenv("CANVAS_TEST_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("CANVAS_TEST_PREFIX", ledger.prefix)
    handlers._redis.cache_clear()
    return ledger.prefix


@pytest.fixture
def engine(ledger: RedisLedger) -> CeleryEngine:
    """An engine whose worker side runs here, on ``run_message``; retries=0, so nothing is published."""
    return CeleryEngine(Celery("ledger-tests", broker="memory://"), retries=0, ledger=ledger)


def test_without_ledger_an_unloadable_job_is_rejected_to_the_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    from celery.exceptions import Reject

    from canvas_core.background import celery

    monkeypatch.setattr(celery, "_django_tables_available", lambda: False)  # a worker without Django
    engine = CeleryEngine(Celery("ledger-tests", broker="memory://"), retries=0)
    with pytest.raises(Reject):
        engine.run_message({"job": "{}", "sig": "0" * 64})


def test_worker_dead_letters_crafted_messages_in_the_ledger(engine: CeleryEngine, ledger: RedisLedger) -> None:
    canary = _ping_job().to_payload() | {"handler": "os:system"}
    text = _signing.canonical(canary)
    engine.run_message({"job": text, "sig": "0" * 64})
    engine.run_message({"job": text, "sig": _signing.sign(text)})
    engine.run_message("import os")

    reasons = sorted(letter.reason for letter in ledger.dead_letters())
    assert any("signature does not match" in reason for reason in reasons)
    assert any("no background handler os:system" in reason for reason in reasons)
    assert any("not a canvas-core job message" in reason for reason in reasons)
    replayable = {letter.reason.split(":")[0]: letter.replayable for letter in ledger.dead_letters()}
    # Only what the signing key vouches for is kept for replay (a deploy may add the handler later).
    assert replayable == {
        "the message is unsigned or its signature does not match": False,
        "the job could not be rebuilt": True,
        "the message is not a canvas-core job message": False,
    }


def test_deploy_skew_is_dead_lettered_then_replayed_after_the_fix(engine: CeleryEngine, ledger: RedisLedger) -> None:
    global STRICT
    events.handle_event(Strict, background=True)(on_strict)
    job = Job.for_event(handler_name(on_strict), Strict, Strict(code="lower"))
    STRICT = True  # the worker runs the stricter class
    try:
        engine.run_message(engine._signed(job))
    finally:
        STRICT = False
    [letter] = ledger.dead_letters()
    assert "could not be rebuilt" in letter.reason
    assert "lower" not in letter.reason

    # The fix is deployed: replay re-validates, and the worker runs the job.
    replayed: list[Job] = []
    recorder = type("Recorder", (), {"enqueue": staticmethod(replayed.append)})()
    [outcome] = ledger.replay([letter.id], recorder)
    assert outcome.error is None
    engine.run_message(engine._signed(replayed[0]))
    assert _ran == ["lower"]
    assert ledger.dead_letters() == []


def test_a_redelivered_finished_job_does_not_run_again(
    engine: CeleryEngine, redis_client: redis.Redis, handler_keys: str
) -> None:
    events.handle_event(handlers.Ping, background=True)(handlers.count)
    message = engine._signed(_ping_job(handlers.count, token="again"))

    engine.run_message(message)
    engine.run_message(message)  # the broker delivers it again

    assert redis_client.get(f"{handler_keys}:count:again") == "1"


def test_a_handler_raising_system_exit_is_dead_lettered(
    engine: CeleryEngine, ledger: RedisLedger, handler_keys: str
) -> None:
    events.handle_event(handlers.Ping, background=True)(handlers.exits)

    engine.run_message(engine._signed(_ping_job(handlers.exits, token="se")))

    [letter] = ledger.dead_letters()
    assert "SystemExit" in letter.reason
    assert letter.replayable


def test_a_job_whose_deliveries_kill_the_worker_is_dead_lettered(
    engine: CeleryEngine, ledger: RedisLedger, handler_keys: str
) -> None:
    events.handle_event(handlers.Ping, background=True)(handlers.count)
    job = _ping_job()
    for _ in range(engine.max_lost_deliveries):
        ledger.begin([job])  # three deliveries whose worker process died mid-run

    engine.run_message(engine._signed(job))

    [letter] = ledger.dead_letters()
    assert "3 deliveries of the job ended its worker process" in letter.reason
    assert letter.deliveries == 3


def test_a_ledger_that_is_down_fails_the_message_so_celery_retries_it() -> None:
    """The task retries a message whose processing raised: nothing is run unrecorded, and nothing is lost."""
    events.handle_event(handlers.Ping, background=True)(handlers.count)
    down = RedisLedger("redis://127.0.0.1:1/0", prefix="down")
    engine = CeleryEngine(Celery("ledger-tests", broker="memory://"), retries=0, ledger=down)

    with pytest.raises(redis.ConnectionError):
        engine.run_message(engine._signed(_ping_job()))


def test_dead_letters_without_django_or_app_says_what_to_give() -> None:
    environment = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    listed = subprocess.run(
        [sys.executable, "-m", "canvas_core.events", "dead-letters", "list"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 1
    assert "--django SETTINGS" in listed.stderr
    assert "--app MODULE" in listed.stderr
