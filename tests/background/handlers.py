"""Events and background handlers the Celery worker tests run; module-level so a worker can import them.

Handlers report what they did through Redis keys under ``CANVAS_TEST_PREFIX``,
which the test process reads.
"""

from __future__ import annotations

import functools
import json
import os
import time

import redis

from canvas_core import events


class Ping(events.Event):
    token: str
    n: int


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["CANVAS_TEST_REDIS_URL"], decode_responses=True)


def _key(*parts: object) -> str:
    return ":".join([os.environ["CANVAS_TEST_PREFIX"], *map(str, parts)])


def record_ping(event: Ping) -> None:
    """Store what the worker saw, and where it ran."""
    _redis().set(_key("ping", event.token), json.dumps({"n": event.n, "pid": os.getpid()}))
    event.n = -1  # a change the emitter must never see


def always_fails(event: Ping) -> None:
    _redis().incr(_key("attempts", event.token))
    raise RuntimeError(f"always_fails refused {event.token}")


def dies_on_first_attempt(event: Ping) -> None:
    """Publish its pid and wait to be killed the first time; finish the second time."""
    client = _redis()
    if client.incr(_key("attempts", event.token)) == 1:
        client.set(_key("pid", event.token), os.getpid())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the test kills this process meanwhile
            time.sleep(0.05)
    client.set(_key("done", event.token), os.getpid())


def count(event: Ping) -> None:
    _redis().incr(_key("count", event.token))


def store_failure(event: events.HandlerFailed) -> None:
    """The worker's error reporting: remember which handler failed, with what."""
    failed = event.event
    assert isinstance(failed, Ping)
    _redis().set(
        _key("failed", failed.token),
        json.dumps({"handler": event.handler.__qualname__, "exception": str(event.exception)}),
    )
