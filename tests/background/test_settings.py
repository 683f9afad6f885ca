"""CANVAS_BACKGROUND_ENGINE and background.configure(): what each value builds, and the errors that say what to do."""

from __future__ import annotations

import pytest
from celery import Celery

from canvas_core import background
from canvas_core.background._settings import engine_from_setting
from canvas_core.background.celery import CeleryEngine

app = Celery("settings_tests", broker="memory://")


def test_an_import_path_names_the_celery_app() -> None:
    engine = engine_from_setting("tests.background.test_settings:app")
    assert isinstance(engine, CeleryEngine)
    assert engine.app is app
    assert engine_from_setting("tests.background.test_settings.app") is engine  # one engine (one task) per app


def test_a_dict_gives_the_options_or_a_broker() -> None:
    built = engine_from_setting({"broker_url": "memory://", "retries": 5, "queue": "background"})
    assert isinstance(built, CeleryEngine)
    assert (built.retries, built.queue, built.app.conf.broker_url) == (5, "background", "memory://")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysite.celery:app", "names 'mysite.celery:app', which cannot be imported"),
        ("celery", "is not an import path like 'mysite.celery:app'"),
        ({"app": "tests.background.test_settings:app", "retry": 1}, "only the options retries, retry_delay"),
        ({"retries": 1}, "must have either 'app' (the import path of a Celery app) or 'broker_url'"),
        ("tests.background.test_settings:pytest", "must name a Celery app or an engine, and names a module"),
        (42, "must be an import path string or a dict, got a int"),
    ],
)
def test_wrong_values_say_what_to_set(value: object, message: str) -> None:
    with pytest.raises(background.EngineNotConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        engine_from_setting(value)


def test_configure_outside_django_makes_the_engine_current() -> None:
    engine = background.configure(app)
    assert background.current_engine() is engine
    assert isinstance(engine, CeleryEngine)
    in_process = background.InProcessEngine()
    assert background.configure(in_process) is in_process
