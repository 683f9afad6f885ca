"""What happens at startup, and what must not happen on import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from canvas_core import events
from canvas_core.django import wired_events

ROOT = Path(__file__).resolve().parents[2]


def test_each_installed_apps_handlers_module_is_imported_at_startup() -> None:
    from tests.testapp.handlers import TestappHandlersLoaded, answer

    assert answer in events.handlers_for(TestappHandlersLoaded)
    assert events.emit_event(TestappHandlersLoaded).answered


def test_importing_canvas_core_and_its_event_bus_never_imports_django() -> None:
    code = textwrap.dedent(
        """
        import sys
        import canvas_core
        import canvas_core.events
        import canvas_core.logging
        from canvas_core import events
        events.emit_event(events.PostRecordUpdate, record=object(), diff={})
        loaded = sorted(name for name in sys.modules if name == "django" or name.startswith("django."))
        assert not loaded, loaded
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "", "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.usefixtures("empty_registry")
def test_models_of_apps_installed_later_are_wired_too() -> None:
    # Django's own test runner installs the apps under test with apps.set_installed_apps(), after
    # django.setup() ran canvas_core's ready(); override_settings(INSTALLED_APPS=...) does the same.
    from django.conf import settings
    from django.test import override_settings

    events.handle_event(events.PostRecordCreate)(_ignore)
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "django.contrib.sessions"]):
        from django.contrib.sessions.models import Session

        assert wired_events(Session) == {events.PostRecordCreate}


def _ignore(event: events.Event) -> None:
    pass
