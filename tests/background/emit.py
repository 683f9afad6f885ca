"""An emitting process of the Django worker tests: ``python -m tests.background.emit SCENARIO TOKEN``.

Each scenario does what a web process would (writes in ``atomic()``), in a
process of its own so that the test can kill it or point it at a broker that is
down. Every message it publishes is recorded in the Redis list
``PREFIX:published:TOKEN`` (to check what reaches the broker).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.background.worker_settings")
django.setup()

import redis  # noqa: E402
from celery.signals import before_task_publish  # noqa: E402
from django.db import transaction  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from canvas_core import background, events  # noqa: E402
from canvas_core.background.celery import CeleryEngine  # noqa: E402
from tests.background.djangoapp.handlers import CodeAssigned, Poison, Secrets  # noqa: E402
from tests.testapp.models import Author, Book  # noqa: E402

client = redis.Redis.from_url(os.environ["CANVAS_TEST_REDIS_URL"], decode_responses=True)


published_key = os.environ["CANVAS_TEST_PREFIX"] + ":published:" + sys.argv[2]


@before_task_publish.connect
def _record(body: Any = None, **_: Any) -> None:
    client.rpush(published_key, json.dumps(body, default=str))


def update_book(title: str) -> Book:
    book = Book.objects.create(title=title, author=Author.objects.create(name="Frank Herbert"))
    book.metadata = {"edition": 2}
    book.save()  # PostRecordUpdate[Book]: its background handler's job goes to the outbox
    return book


def main(scenario: str, token: str) -> None:
    engine = background.current_engine()
    assert isinstance(engine, CeleryEngine), f"CANVAS_BACKGROUND_ENGINE gave {engine!r}"
    if scenario == "update":
        with transaction.atomic():
            update_book(token)
    elif scenario == "rollback":
        try:
            with transaction.atomic():
                update_book(token)
                raise RuntimeError("abort")
        except RuntimeError:
            pass
    elif scenario == "killed-after-commit":
        with transaction.atomic():
            # Registered before the emission: runs right after COMMIT, before the relay is told.
            transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
            update_book(token)
    elif scenario == "many":
        count = int(os.environ.get("CANVAS_TEST_COUNT", "20"))
        with transaction.atomic():
            for n in range(count):
                events.emit_event(CodeAssigned, token=token, code=f"CODE{n}")
        print("committed at", time.time(), flush=True)
    elif scenario == "code":
        with transaction.atomic():
            events.emit_event(CodeAssigned, token=token, code=os.environ.get("CANVAS_TEST_CODE", "abc"))
    elif scenario == "secrets":
        with transaction.atomic():
            events.emit_event(Secrets, token=token, password=SecretStr("hunter2-" + token), pin="4711-" + token)
    elif scenario == "secrets-direct":  # outside a transaction: a signed message
        events.emit_event(Secrets, token=token, password=SecretStr("hunter2-" + token), pin="4711-" + token)
    elif scenario.startswith("poison-"):
        with transaction.atomic():
            events.emit_event(Poison, token=token, mode=scenario.removeprefix("poison-"))
    elif scenario == "delete":
        book = update_book(token)
        with transaction.atomic():
            book.delete()
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    engine.relay().flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
