"""Settings for the benchmarks: the test settings plus the benchmark app (SQLite in memory)."""

from tests.django_settings import *  # noqa: F403
from tests.django_settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.benchmarks.benchapp"]
