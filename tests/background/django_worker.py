"""The Celery module of the Django worker tests, laid out as the guide says.

Started with ``celery -A tests.background.django_worker worker``.

Its broker and queue come from the environment the test fixture sets. The
engine is not configured here: ``CANVAS_BACKGROUND_ENGINE`` names this app.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from celery.signals import worker_ready

from .celery_app import make_app

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.background.worker_settings")

app = make_app()


@worker_ready.connect
def _announce_ready(**_: Any) -> None:
    redis.Redis.from_url(os.environ["CANVAS_TEST_REDIS_URL"]).set(os.environ["CANVAS_TEST_PREFIX"] + ":ready", 1)
