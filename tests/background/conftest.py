"""Fixtures for background handler tests: the engine in use, Redis, and a real Celery worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from canvas_core import background

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("CANVAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKER_START_TIMEOUT = 60.0


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def _restore_engine() -> Iterator[None]:
    previous = background.current_engine()
    yield
    background.use_engine(previous)


@pytest.fixture(scope="session")
def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc}); start it to run the Celery worker tests")
    return client


@dataclass
class Worker:
    """A running ``celery worker`` subprocess and the Redis namespace its handlers write to."""

    process: subprocess.Popen[bytes]
    prefix: str
    queue: str
    log: Path
    redis: redis.Redis

    def key(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def wait_json(self, *parts: object, timeout: float = 30) -> Any:
        raw = wait_for(lambda: self.redis.get(self.key(*parts)), timeout, f"Redis key {self.key(*parts)}")
        return json.loads(raw)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def celery_worker(redis_client: redis.Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One real Celery worker (prefork, one child process) on a queue of its own, against Redis."""
    run_id = uuid.uuid4().hex[:12]
    prefix, queue = f"canvas-tests:{run_id}", f"canvas-tests-{run_id}"
    os.environ.update(CANVAS_TEST_REDIS_URL=REDIS_URL, CANVAS_TEST_PREFIX=prefix, CANVAS_TEST_QUEUE=queue)
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "tests.background.celery_worker", "worker",
        "--pool=prefork", "--concurrency=1", f"--queues={queue}", f"--hostname={run_id}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ))
    worker = Worker(process, prefix, queue, log, redis_client)
    try:
        wait_for(
            lambda: redis_client.get(f"{prefix}:ready") or process.poll() is not None,
            WORKER_START_TIMEOUT,
            "the Celery worker to start",
        )
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {process.returncode}:\n{worker.log_text()}")
        yield worker
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        keys = list(redis_client.scan_iter(f"{prefix}:*"))
        if keys:
            redis_client.delete(*keys)
        redis_client.delete(queue)
