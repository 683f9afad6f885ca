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
def test_apps_installed_later_get_their_handlers_imported_and_their_models_wired() -> None:
    # Django's own test runner installs the apps under test with apps.set_installed_apps(), after
    # django.setup() ran canvas_core's ready(); override_settings(INSTALLED_APPS=...) does the same.
    from django.conf import settings
    from django.test import override_settings

    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "tests.lateapp"]):
        from tests.lateapp.models import LateArrival

        # Registered by the app's handlers module, which canvas_core imported (this test does not).
        registered = [r.handler for r in events.registrations_for(events.PostRecordCreate[LateArrival], LateArrival)]
        assert [f"{h.__module__}.{h.__qualname__}" for h in registered] == ["tests.lateapp.handlers.greet"]
        assert wired_events(LateArrival) == {events.PostRecordCreate}
