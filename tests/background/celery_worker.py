"""The Celery app the worker tests start: ``celery -A tests.background.celery_worker worker``.

Configured from environment variables the test fixture sets, so that each test
session uses its own queue and Redis keys. No Django here: jobs travel signed.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from celery.signals import worker_ready

from canvas_core import background, events
from canvas_core.background.celery import CeleryEngine
from canvas_core.background.ledger import RedisLedger

from . import handlers
from .celery_app import make_app

app = make_app()
# With CANVAS_TEST_LEDGER set, workers keep their count in Redis (the fixture of the ledger tests).
ledger = (
    RedisLedger(os.environ["CANVAS_TEST_REDIS_URL"], prefix=os.environ["CANVAS_TEST_PREFIX"])
    if os.environ.get("CANVAS_TEST_LEDGER")
    else None
)
background.use_engine(
    CeleryEngine(app, retries=int(os.environ.get("CANVAS_TEST_RETRIES", "2")), retry_delay=0.05, ledger=ledger)
)
events.handle_event(events.HandlerFailed)(handlers.store_failure)
handlers.register_background_handlers()


@worker_ready.connect
def _announce_ready(**_: Any) -> None:
    redis.Redis.from_url(os.environ["CANVAS_TEST_REDIS_URL"]).set(os.environ["CANVAS_TEST_PREFIX"] + ":ready", 1)
