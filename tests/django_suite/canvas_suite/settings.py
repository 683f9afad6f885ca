"""Settings for Django's ``tests/runtests.py --settings=canvas_suite.settings``.

``runtests.py`` replaces ``INSTALLED_APPS`` with its ``ALWAYS_INSTALLED_APPS``
plus the apps under test, so canvas_core is added to that list (the settings
module is imported by ``runtests.py`` before it reads the list). Environment:

* ``CANVAS_SUITE_WIRED``: ``1`` to install canvas_core and the catch-all
  handlers, ``0`` for the baseline run without them;
* ``CANVAS_SUITE_DATABASE``: ``sqlite`` (the suite's own settings) or
  ``postgres`` (``127.0.0.1:5432``, user ``postgres``);
* ``CANVAS_SUITE_RESULTS`` / ``CANVAS_SUITE_COUNTS``: where ``runner`` and
  ``apps`` write what they saw.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

_suite_settings = importlib.import_module("test_sqlite")  # Django's tests/test_sqlite.py
globals().update({name: value for name, value in vars(_suite_settings).items() if name.isupper()})

DATABASES: dict[str, dict[str, Any]]
if os.environ.get("CANVAS_SUITE_DATABASE") == "postgres":
    DATABASES = {
        alias: {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "postgres",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "TEST": {"NAME": f"canvas_django_suite_{alias}"},
        }
        for alias in ("default", "other")
    }

TEST_RUNNER = "canvas_suite.runner.RecordingRunner"

if os.environ.get("CANVAS_SUITE_WIRED") == "1":
    _runtests = sys.modules["__main__"]
    _always_installed = getattr(_runtests, "ALWAYS_INSTALLED_APPS", None)
    if not isinstance(_always_installed, list):
        raise RuntimeError("canvas_suite.settings is for Django's tests/runtests.py (no ALWAYS_INSTALLED_APPS found)")
    _always_installed.extend(app for app in ("canvas_core", "canvas_suite") if app not in _always_installed)
