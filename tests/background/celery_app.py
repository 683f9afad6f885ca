"""The Celery app of the worker tests, built from the environment the worker fixture sets."""

from __future__ import annotations

import os

from celery import Celery


def make_app() -> Celery:
    """The app both the worker and the emitting test process use."""
    app = Celery("canvas_core_tests", broker=os.environ["CANVAS_TEST_REDIS_URL"])
    app.conf.update(
        task_default_queue=os.environ["CANVAS_TEST_QUEUE"],
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=False,
    )
    return app
