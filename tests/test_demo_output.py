"""The whole demo, as `python3 run.py demo` prints it: readable from top to bottom."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_output() -> str:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "examples"), str(ROOT / "src")])
    result = subprocess.run(
        [sys.executable, "-m", "demo"], capture_output=True, text=True, cwd=ROOT, env=env, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_a_logged_failure_is_indented_under_its_log_line(demo_output: str) -> None:
    lines = demo_output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  log ERROR canvas_core.events"))
    end = next(i for i, line in enumerate(lines) if line.startswith("  reported: check_spam"))
    traceback = lines[start + 1 : end]
    assert traceback[0].strip() == "Traceback (most recent call last):"
    assert all(line.startswith("      ") for line in traceback)


def test_background_handlers_appear_only_once_introduced(demo_output: str) -> None:
    introduced = demo_output.index("== Background handlers")
    assert "[background]" not in demo_output[:introduced]
    assert "[background]" in demo_output[introduced:]


def test_the_debug_log_section_says_how_to_turn_it_on(demo_output: str) -> None:
    section = demo_output.split("== One DEBUG line per emission")[1].split("\n== ")[0]
    assert "events.log_emissions()" in section


def test_handler_names_are_plain_module_names(demo_output: str) -> None:
    assert "<locals>" not in demo_output
    assert "Handler demo.core.check_spam failed" in demo_output


def test_record_events_are_emitted_by_the_orm_not_by_a_file(demo_output: str) -> None:
    assert "the Django ORM emits canvas_core.events.PostRecordUpdate when Setting rows are written" in demo_output
    assert " at :0" not in demo_output


def test_mypy_reports_on_the_example(demo_output: str) -> None:
    assert 'signup.py:18: error: Unexpected keyword argument "pasword"' in demo_output
