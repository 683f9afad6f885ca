"""Django settings shared by the Django worker tests' worker and emitting processes (PostgreSQL).

The database name, broker and queue come from the environment the test fixture
sets, so that each test session has its own.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

SECRET_KEY = "tests-only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "canvas_core",
    "tests.testapp",
    "tests.background.djangoapp",
]

_url = urlparse(os.environ.get("CANVAS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("CANVAS_TEST_BG_DATABASE", "canvas_bg_tests"),
        "USER": _url.username or "postgres",
        "PASSWORD": _url.password or "",
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": str(_url.port or 5432),
    }
}

CANVAS_BACKGROUND_ENGINE = {
    "app": "tests.background.django_worker:app",
    "retries": int(os.environ.get("CANVAS_TEST_RETRIES", "2")),
    "retry_delay": 0.05,
}
