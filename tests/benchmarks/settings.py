"""Settings for the benchmarks: the test settings plus the benchmark app (SQLite in memory by default).

``CANVAS_BENCH_SQLITE_FILE=/tmp/bench.sqlite3`` puts the SQLite test database in that file instead, for
figures where writes reach a disk (its journal and the sync at COMMIT), as they do in production, and
where other threads (the outbox relay's) must share the database, which an in-memory one cannot.
"""

import os

from tests.django_settings import *  # noqa: F403
from tests.django_settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.benchmarks.benchapp"]

if os.environ.get("CANVAS_BENCH_SQLITE_FILE") and DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["CANVAS_BENCH_SQLITE_FILE"]}
