"""The system checks of the background set-up: each says what is wrong and what to do."""

from __future__ import annotations

import types
from collections.abc import Iterator

import pytest
from django.test import override_settings

from canvas_core import background, events
from canvas_core.background._checks import check_background


class Shipped(events.Event):
    parcel: int


def ship(event: Shipped) -> None:
    pass


@pytest.fixture(autouse=True)
def _in_process() -> Iterator[None]:
    previous = background.use_engine(background.InProcessEngine())
    yield
    background.use_engine(previous)


def test_no_message_when_nothing_is_set_up() -> None:
    assert check_background() == []


@override_settings(CANVAS_BACKGROUND_ENGINE="mysite.celery:app")
def test_an_engine_that_cannot_be_imported_is_an_error_saying_what_to_set() -> None:
    [error] = check_background()
    assert error.id == "canvas_core.E001"
    assert "CANVAS_BACKGROUND_ENGINE names 'mysite.celery:app', which cannot be imported" in error.msg
    assert "Set CANVAS_BACKGROUND_ENGINE to the import path of your Celery app" in str(error.hint)


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
def test_background_handlers_running_in_process_next_to_a_broker_are_a_warning() -> None:
    events.handle_event(Shipped, background=True)(ship)

    [warning] = check_background()

    assert warning.id == "canvas_core.W001"
    assert "1 background handler(s) will run inside this process (InProcessEngine)" in warning.msg
    assert "CELERY_BROKER_URL configures a broker" in warning.msg
    assert str(warning.hint) == (
        "Set CANVAS_BACKGROUND_ENGINE = 'mysite.celery:app' (your Celery app's import path) in the settings."
    )


def test_a_handler_a_worker_cannot_import_is_a_warning() -> None:
    module = types.ModuleType("made_up_at_runtime")
    exec("def handle(event): pass", module.__dict__)
    handler = module.handle

    events.handle_event(Shipped, background=True)(handler)

    [warning] = check_background()
    assert warning.id == "canvas_core.W002"
    assert "made_up_at_runtime:handle is defined in 'made_up_at_runtime', which cannot be imported" in warning.msg
    assert "Define background handlers in a module of an installed app" in str(warning.hint)
