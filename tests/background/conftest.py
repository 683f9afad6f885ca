"""Fixtures for background handler tests: the engine in use, Redis, and a real Celery worker."""

from __future__ import annotations

import contextlib
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
from celery import Celery

from canvas_core import background

from .celery_app import make_app

ROOT = Path(__file__).resolve().parents[2]
# A Redis database of its own, so that other test runs on this machine do not see these keys.
REDIS_URL = os.environ.get("CANVAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
RABBITMQ_URL = os.environ.get("CANVAS_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
WORKER_START_TIMEOUT = 60.0
SIGNING_KEY = "tests-only background signing key"
os.environ["CANVAS_BACKGROUND_KEY"] = SIGNING_KEY  # this process signs what it sends to the test workers


def wait_for(check: Callable[[], Any], timeout: float, what: str | Callable[[], str]) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what if isinstance(what, str) else what()}")
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


@pytest.fixture(scope="session", params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest, redis_client: redis.Redis) -> str:
    """Each worker test runs on Redis and on RabbitMQ (skipped, with the reason, where one is not running)."""
    if request.param == "redis":
        return REDIS_URL
    import kombu

    connection = kombu.Connection(RABBITMQ_URL, connect_timeout=2)
    try:
        connection.connect()
    except Exception as exc:
        pytest.skip(f"RabbitMQ is not reachable at {RABBITMQ_URL} ({exc}); start it to run these tests on it")
    finally:
        connection.release()
    return RABBITMQ_URL


def delete_queue(broker_url: str, queue: str) -> None:
    import kombu

    with kombu.Connection(broker_url, connect_timeout=2) as connection, contextlib.suppress(Exception):
        connection.default_channel.queue_delete(queue)  # type: ignore[attr-defined]  # (kombu's stubs lack it)


@dataclass
class Worker:
    """A running ``celery worker`` subprocess and the Redis namespace its handlers write to."""

    process: subprocess.Popen[bytes]
    prefix: str
    queue: str
    log: Path
    redis: redis.Redis
    broker_url: str
    environment: dict[str, str]

    def app(self) -> Celery:
        """A Celery app that sends to this worker."""
        return make_app(self.broker_url, self.queue)

    def key(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def wait_json(self, *parts: object, timeout: float = 30) -> Any:
        raw = wait_for(
            lambda: self.redis.get(self.key(*parts)),
            timeout,
            lambda: f"Redis key {self.key(*parts)}; the worker logged:\n{self.log_text()[-3000:]}",
        )
        return json.loads(raw)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def run_module(worker: Worker, module: str, *arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m MODULE ARGUMENTS`` to the end in the worker's environment, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        env={**worker.environment, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def celery_worker(
    redis_client: redis.Redis, broker_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """One real Celery worker (prefork, one child process) on a queue of its own, without Django."""
    with start_worker("tests.background.celery_worker", broker_url, redis_client, tmp_path_factory) as worker:
        yield worker


@pytest.fixture(scope="session")
def ledger_worker(
    redis_client: redis.Redis, broker_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """A worker without Django that keeps its count and dead letters in Redis."""
    with start_worker(
        "tests.background.celery_worker", broker_url, redis_client, tmp_path_factory, CANVAS_TEST_LEDGER="1"
    ) as worker:
        yield worker


def worker_environment(broker_url: str, prefix: str, queue: str, **extra: str) -> dict[str, str]:
    """The environment of a worker (and of the processes that emit to it) of one test session."""
    # The worker is a Django one only if the fixture says so (pytest-django sets this for the test process).
    environment = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    environment.update(
        CANVAS_TEST_REDIS_URL=REDIS_URL,
        CANVAS_TEST_BROKER_URL=broker_url,
        CANVAS_TEST_PREFIX=prefix,
        CANVAS_TEST_QUEUE=queue,
        CANVAS_BACKGROUND_KEY=SIGNING_KEY,
        **extra,
    )
    return environment


@contextlib.contextmanager
def start_worker(
    app_module: str,
    broker_url: str,
    redis_client: redis.Redis,
    tmp_path_factory: pytest.TempPathFactory,
    **extra_environment: str,
) -> Iterator[Worker]:
    """Start ``celery -A app_module worker`` on a new queue; stop it (and delete its queue and keys) after."""
    run_id = uuid.uuid4().hex[:12]
    prefix, queue = f"canvas-tests:{run_id}", f"canvas-tests-{run_id}"
    environment = worker_environment(broker_url, prefix, queue, **extra_environment)
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", app_module, "worker",
        "--pool=prefork", "--concurrency=1", f"--queues={queue}", f"--hostname={run_id}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=environment)
    worker = Worker(process, prefix, queue, log, redis_client, broker_url, environment)
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
        delete_queue(broker_url, queue)


POSTGRES_URL = os.environ.get("CANVAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def background_database() -> Iterator[str]:
    """A PostgreSQL database of its own, migrated, that the Django workers and emitters of these tests share."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}); the Django worker tests need it")
    name = f"canvas_bg12_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        environment = dict(
            os.environ, DJANGO_SETTINGS_MODULE="tests.background.worker_settings", CANVAS_TEST_BG_DATABASE=name
        )
        environment.update(CANVAS_TEST_REDIS_URL=REDIS_URL, CANVAS_TEST_BROKER_URL=REDIS_URL, CANVAS_TEST_QUEUE="-")
        environment["CANVAS_TEST_PREFIX"] = "canvas-tests:migrate"
        migrated = subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--verbosity=0"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert migrated.returncode == 0, migrated.stderr
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def django_worker(
    redis_client: redis.Redis, broker_url: str, background_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """A real Celery worker of a Django project (``tests.background.worker_settings``) on PostgreSQL."""
    with start_worker(
        "tests.background.django_worker",
        broker_url,
        redis_client,
        tmp_path_factory,
        DJANGO_SETTINGS_MODULE="tests.background.worker_settings",
        CANVAS_TEST_BG_DATABASE=background_database,
    ) as worker:
        yield worker
