"""Settings for the benchmarks: the test settings plus the benchmark app (SQLite in memory, or in the file
CANVAS_BENCHMARK_SQLITE_FILE names)."""

from tests.django_settings import *  # noqa: F403
from tests.django_settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.benchmarks.benchapp"]

import os  # noqa: E402

if os.environ.get("CANVAS_BENCHMARK_SQLITE_FILE"):
    # A file database, which other threads (the outbox relay's) can share, unlike the in-memory one.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["CANVAS_BENCHMARK_SQLITE_FILE"]}  # noqa: F405
