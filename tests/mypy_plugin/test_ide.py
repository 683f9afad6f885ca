"""The editor side: basedpyright, with no plugin, on emit_event calls.

Pyright has no plugins; what it checks comes from emit_event's ParamSpec
signature alone. The fixtures' diagnostics are compared with expected.txt,
so a change in what editors show (either way) is noticed: plain calls
(emit_calls.py), the settings page's spelling for a swapped Setting model
(setting_model.py), the docs' recipes for computed fields
(computed_fields.py) and why the field name ``fields`` is reserved
(reserved_fields.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

IDE = Path(__file__).parent / "ide"


def _diagnostics() -> list[str]:
    basedpyright = Path(sys.executable).parent / "basedpyright"
    result = subprocess.run(
        [str(basedpyright), "--outputjson", "--pythonpath", sys.executable, "--project", str(IDE)],
        cwd=IDE,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    lines = []
    for diagnostic in report["generalDiagnostics"]:
        start = diagnostic["range"]["start"]
        message = diagnostic["message"].replace("\n", " ").replace("\u00a0", " ")
        rule = diagnostic.get("rule", "")
        where = f"{Path(diagnostic['file']).name}:{start['line'] + 1}:{start['character'] + 1}"
        lines.append(f"{where} {diagnostic['severity']} {rule}: {message}")
    return lines


def test_basedpyright_checks_emit_event_calls_without_a_plugin() -> None:
    expected = (IDE / "expected.txt").read_text().splitlines()
    assert _diagnostics() == expected
