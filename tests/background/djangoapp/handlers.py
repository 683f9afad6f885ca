"""Background handlers of the Django worker tests; every process of those tests registers them at start-up.

They report through Redis keys under ``CANVAS_TEST_PREFIX``, which the test reads.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Annotated

import redis
from pydantic import Field, SecretStr, StringConstraints

from canvas_core import events
from tests.testapp.models import Book


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["CANVAS_TEST_REDIS_URL"], decode_responses=True)


def _key(*parts: object) -> str:
    return ":".join([os.environ["CANVAS_TEST_PREFIX"], *map(str, parts)])


# Deploy skew: a worker started with CANVAS_TEST_STRICT_CODES runs a stricter version of this class.
if os.environ.get("CANVAS_TEST_STRICT_CODES"):

    class CodeAssigned(events.Event):
        token: str
        code: Annotated[str, StringConstraints(pattern=r"^[A-Z]+$")]

else:

    class CodeAssigned(events.Event):  # type: ignore[no-redef]
        token: str
        code: str


class Secrets(events.Event):
    token: str
    password: SecretStr
    pin: str = Field(repr=False)


@events.handle_event(events.PostRecordUpdate[Book], background=True)
def on_book_update(event: events.PostRecordUpdate[Book]) -> None:
    """Count runs per title, and say which process ran it with what it saw."""
    client = _redis()
    client.incr(_key("book-runs", event.record.title))
    client.set(
        _key("book", event.record.title),
        json.dumps({"pid": os.getpid(), "pk": event.record.pk, "diff": sorted(event.diff)}),
    )


@events.handle_event(events.PostRecordDelete[Book], background=True)
def on_book_delete(event: events.PostRecordDelete[Book]) -> None:
    _redis().set(_key("deleted", event.record.title), json.dumps({"pk": event.record.pk}))


@events.handle_event(CodeAssigned, background=True)
def on_code(event: CodeAssigned) -> None:
    _redis().incr(_key("code-runs", event.token))


@events.handle_event(Secrets, background=True)
def on_secrets(event: Secrets) -> None:
    _redis().set(
        _key("secrets", event.token), json.dumps({"password": event.password.get_secret_value(), "pin": event.pin})
    )


class Poison(events.Event):
    """A job whose handler misbehaves in the way ``mode`` says, counting its attempts."""

    token: str
    mode: str


@events.handle_event(Poison, background=True)
def misbehave(event: Poison) -> None:
    import signal

    _redis().incr(_key("poison-attempts", event.token))
    if event.mode == "exit":
        raise SystemExit(3)
    if event.mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise RuntimeError("misbehaved")
