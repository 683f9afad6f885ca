"""CANVAS_LOGGING: one setting makes a Django project's log lines visible and well formatted."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from canvas_core import logging as canvas_logging
from canvas_core.apps import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    loggers = [logging.getLogger(), logging.getLogger("django")]
    saved = [(logger, list(logger.handlers), logger.level) for logger in loggers]
    yield
    for logger, handlers, level in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)


def test_without_the_setting_nothing_is_configured() -> None:
    before = list(logging.getLogger().handlers)
    configure_logging()
    assert logging.getLogger().handlers == before


def test_json_lines_from_the_application_and_from_django_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert [h.get_name() for h in logging.getLogger("django").handlers].count("console") == 1  # Django's default
    with override_settings(CANVAS_LOGGING="json", DEBUG=True):
        configure_logging()
    canvas_logging.get_logger("shop.settings").info("A setting was changed.", setting="site_name")
    logging.getLogger("django.request").warning("Not Found: /x")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line["event"]) for line in lines] == [
        ("shop.settings", "A setting was changed."),
        ("django.request", "Not Found: /x"),  # once: Django's own console handler is gone
    ]
    assert lines[0]["setting"] == "site_name"


def test_a_dict_sets_the_level() -> None:
    with override_settings(CANVAS_LOGGING={"output": "console", "level": "DEBUG"}):
        configure_logging()
    assert logging.getLogger().level == logging.DEBUG
    assert any(h.get_name() == canvas_logging.HANDLER_NAME for h in logging.getLogger().handlers)


def test_a_project_with_its_own_logging_dict_keeps_its_django_handlers() -> None:
    with override_settings(CANVAS_LOGGING="json", LOGGING={"version": 1}):
        configure_logging()
    assert "console" in [h.get_name() for h in logging.getLogger("django").handlers]


@pytest.mark.parametrize("value", ["pretty", {"format": "json"}, 3, {"output": "json", "level": "LOUD"}])
def test_a_malformed_setting_says_what_to_write(value: object) -> None:
    with override_settings(CANVAS_LOGGING=value), pytest.raises(ImproperlyConfigured, match="CANVAS_LOGGING"):
        configure_logging()
