"""Django settings for the test suite (pytest-django reads DJANGO_SETTINGS_MODULE).

SQLite by default. The database-backed tests run a second time against
PostgreSQL when CANVAS_TEST_POSTGRES_URL is set (see run.py and .ci/run).
"""

from __future__ import annotations

import os
from typing import Any

SECRET_KEY = "tests-only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "canvas_core",
    "tests.testapp",
]

# For the Setting admin's tests (tests/django/test_admin.py).
ROOT_URLCONF = "tests.urls"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

_postgres_url = os.environ.get("CANVAS_TEST_DATABASE") == "postgres" and os.environ.get("CANVAS_TEST_POSTGRES_URL")

if _postgres_url:
    from urllib.parse import urlparse

    _url = urlparse(_postgres_url)
    DATABASES: dict[str, dict[str, Any]] = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _url.path.lstrip("/") or "test",
            "USER": _url.username or "postgres",
            "PASSWORD": _url.password or "",
            "HOST": _url.hostname or "127.0.0.1",
            "PORT": str(_url.port or 5432),
        }
    }
    # Named after the default test database, so that runs against different databases of one server
    # (two checkouts, CI beside a developer) do not create and drop the same "other" database.
    DATABASES["other"] = DATABASES["default"] | {"TEST": {"NAME": f"test_{DATABASES['default']['NAME']}_other"}}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    DATABASES["other"] = dict(DATABASES["default"])
# "other": a second database, for tests with a database router (used only by tests that ask for it).
