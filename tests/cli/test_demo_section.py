"""The demo's canvas-events section prints the live listing and the static map's findings."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from canvas_core import events

ROOT = Path(__file__).resolve().parents[2]


def test_demo_section(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    monkeypatch.chdir(ROOT)
    demo_cli = importlib.import_module("demo.cli")

    class Greeted(events.Event):
        name: str

    @events.handle_event(Greeted)
    def wave(event: Greeted) -> None: ...

    demo_cli.run()
    out = capsys.readouterr().out
    assert "test_demo_section.<locals>.wave" in out
    assert "demo.core.signup_demo emits demo.core.SignupFormSubmitted at examples/demo/core.py:" in out
