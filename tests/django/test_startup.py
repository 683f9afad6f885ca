"""What happens at startup, and what must not happen on import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from canvas_core import events

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
