"""Events and background handlers the Celery worker tests run; module-level so a worker can import them.

Handlers report what they did through Redis keys under ``CANVAS_TEST_PREFIX``,
which the test process reads.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import redis
from pydantic import Field, SecretStr

from canvas_core import events


class Ping(events.Event):
    token: str
    n: int


class Credentials(events.Event):
    """Values that must reach the handler intact, and never the broker in clear."""

    token: str
    password: SecretStr
    pin: str = Field(repr=False)


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


def exits(event: Ping) -> None:
    """A handler that ends its process the polite way, every time."""
    _redis().incr(_key("attempts", event.token))
    raise SystemExit(3)


def kills_its_worker(event: Ping) -> None:
    """A poison job: every delivery kills the worker process running it."""
    _redis().incr(_key("attempts", event.token))
    os.kill(os.getpid(), signal.SIGKILL)


def record_credentials(event: Credentials) -> None:
    _redis().set(
        _key("credentials", event.token), json.dumps({"password": event.password.get_secret_value(), "pin": event.pin})
    )


BACKGROUND_HANDLERS: tuple[tuple[type[events.Event], Callable[[Any], None]], ...] = (
    (Ping, record_ping),
    (Ping, always_fails),
    (Ping, dies_on_first_attempt),
    (Ping, count),
    (Ping, exits),
    (Ping, kills_its_worker),
    (Credentials, record_credentials),
)


def register_background_handlers() -> None:
    """What a worker process registers: it runs only these."""
    for event_type, handler in BACKGROUND_HANDLERS:
        events.handle_event(event_type, background=True)(handler)
