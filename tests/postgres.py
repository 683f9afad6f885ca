"""pytest plugin for the PostgreSQL run of the database tests (``-p tests.postgres``).

``run.py test`` runs the tests marked ``django_db`` a second time with
``CANVAS_TEST_DATABASE=postgres`` and this plugin. Without
``CANVAS_TEST_POSTGRES_URL``, or when that server does not answer, every test
is skipped with the reason, instead of failing on a missing server.
"""

from __future__ import annotations

import os

import pytest


def _unavailable() -> str | None:
    url = os.environ.get("CANVAS_TEST_POSTGRES_URL")
    if os.environ.get("CANVAS_TEST_DATABASE") != "postgres":
        return "CANVAS_TEST_DATABASE is not 'postgres'"
    if not url:
        return "PostgreSQL run skipped: CANVAS_TEST_POSTGRES_URL is not set (CI sets it; see .ci/run)"
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL run skipped: cannot connect to CANVAS_TEST_POSTGRES_URL ({first_line})"
    return None


_REASON = _unavailable()


def pytest_report_header() -> str:
    return f"database: PostgreSQL ({'unavailable: ' + _REASON if _REASON else 'available'})"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _REASON is None:
        return
    skip = pytest.mark.skip(reason=_REASON)
    for item in items:
        item.add_marker(skip)
