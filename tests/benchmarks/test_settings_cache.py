"""config.get_setting: a cached read against a plain ORM query for the value.

Run (SQLite in memory; the benchmarks are left out of the normal test run)::

    .venv/bin/python -m pytest tests/benchmarks/test_settings_cache.py -o addopts="" \\
        --ds=tests.benchmarks.settings -p no:randomly --benchmark-only --benchmark-columns=min,median

``orm``: ``Setting.objects.values_list("value").get(key=...)``, what code did
before the API. ``cached``: ``get_setting`` with the value in the per-process
cache. ``uncached``: ``get_setting`` with the cache turned off (one query).
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from pytest_benchmark.fixture import BenchmarkFixture

from canvas_core import config
from canvas_core.models import Setting

pytestmark = pytest.mark.django_db(transaction=True)  # outside a transaction, so the cache is used


@pytest.fixture(autouse=True)
def page_size() -> None:
    config.clear_setting_cache()
    config.set_setting("page_size", 50)


def test_orm(benchmark: BenchmarkFixture) -> None:
    assert benchmark(lambda: Setting.objects.values_list("value", flat=True).get(key="page_size")) == 50


def test_cached(benchmark: BenchmarkFixture) -> None:
    assert benchmark(config.get_setting, "page_size") == 50


def test_uncached(benchmark: BenchmarkFixture) -> None:
    with override_settings(CANVAS_SETTING_CACHE_SECONDS=0):
        assert benchmark(config.get_setting, "page_size") == 50
