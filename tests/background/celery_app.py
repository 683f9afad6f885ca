"""The Celery app of the worker tests, built from the environment the worker fixtures set."""

from __future__ import annotations

import os

from celery import Celery


def make_app(broker_url: str | None = None, queue: str | None = None) -> Celery:
    """The app both the worker and the emitting test process use (broker: Redis or RabbitMQ).

    The worker gets its broker and queue from the environment its fixture sets.
    """
    app = Celery("canvas_core_tests", broker=broker_url or os.environ["CANVAS_TEST_BROKER_URL"])
    app.conf.update(
        task_default_queue=queue or os.environ["CANVAS_TEST_QUEUE"],
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=False,
        broker_connection_timeout=2,
        # A test that publishes to a broker that is down should fail soon, not after Celery's default retries.
        broker_transport_options={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
    )
    return app
