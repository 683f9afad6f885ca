"""The Django section of the demo runs on its own, in a fresh process, as ``run.py demo`` runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_records_demo_shows_events_and_redacted_logs() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "examples"), str(ROOT / "src")])
    result = subprocess.run(
        [sys.executable, "-c", "import demo.records; demo.records.run()"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "event PostRecordUpdate[Setting] diff={'value': ('Canvas', 'Canvas LMS')}" in out
    assert "setting=api_key old_value=[REDACTED] new_value=[REDACTED]" in out
    assert "s3cr3t" not in out
    assert out.count("after commit: would email") == 3  # not for the rolled-back save
    assert "event PostRecordDelete[Setting]" in out
