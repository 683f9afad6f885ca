"""The demo's type-checking section really runs mypy with the plugin and shows its errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_demo_section_prints_the_errors_mypy_reports() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from demo import typing_check; typing_check.run()"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "examples")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert 'signup.py:18: error: Unexpected keyword argument "pasword" for "emit_event"' in result.stdout
    assert (
        'signup.py:18: error: Argument "email" to "emit_event" has incompatible type "int"; expected "str"  [arg-type]'
        in result.stdout
    )
    assert "mypy (exit status 1) says:" in result.stdout
