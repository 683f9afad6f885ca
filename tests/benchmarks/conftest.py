"""The benchmarks of background handlers reuse the Celery worker fixtures of tests/background."""

from tests.background.conftest import (
    _restore_engine,
    background_database,
    broker_url,
    celery_worker,
    django_worker,
    ledger_worker,
    redis_client,
)

__all__ = [
    "_restore_engine",
    "background_database",
    "broker_url",
    "celery_worker",
    "django_worker",
    "ledger_worker",
    "redis_client",
]
