"""CANVAS_HANDLER_MODULES: which modules of each app are imported at start-up for their handlers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from canvas_core.django._wiring import handler_module_names

ROOT = Path(__file__).resolve().parents[2]


def _handlers_at_startup(settings_module: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "canvas_core.events", "handlers", "--django", settings_module, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    return {row["handler"] for row in json.loads(result.stdout)}


def test_only_handlers_modules_by_default() -> None:
    found = _handlers_at_startup("tests.django_settings")
    assert "tests.testapp.handlers.answer" in found
    assert "tests.testapp.receivers.book_received" not in found


def test_the_setting_names_more_modules() -> None:
    found = _handlers_at_startup("tests.django_settings_receivers")
    assert {"tests.testapp.handlers.answer", "tests.testapp.receivers.book_received"} <= found


def test_the_default_is_handlers() -> None:
    assert handler_module_names() == ("handlers",)
    with override_settings(CANVAS_HANDLER_MODULES=["signals", "events.receivers"]):
        assert handler_module_names() == ("signals", "events.receivers")


@pytest.mark.parametrize("value", ["receivers", (), ("handlers", 3), ("my-handlers",), ("",)])
def test_a_malformed_setting_says_what_to_write(value: object) -> None:
    with (
        override_settings(CANVAS_HANDLER_MODULES=value),
        pytest.raises(ImproperlyConfigured, match=r"like \('handlers', 'receivers'\)"),
    ):
        handler_module_names()
