"""The calls of test_pydantic_config.yml, run: the plugin and pydantic agree on each.

Each case's module is executed without its top-level ``emit_event(...)``
lines, then each such line on its own: a line the YAML expects an error for
must raise :class:`EventValidationError`, every other line must pass. So the
plugin's reading of ``extra``, alias generators, splats and
``validation_alias=None`` is checked against pydantic itself, not against
what we believe pydantic does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from canvas_core.events import EventValidationError

CASES = Path(__file__).with_name("test_pydantic_config.yml")


def _cases() -> list[Any]:
    return [pytest.param(case, id=case["case"]) for case in yaml.safe_load(CASES.read_text())]


@pytest.mark.parametrize("case", _cases())
def test_the_plugin_reports_exactly_the_calls_that_fail_at_run_time(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for extra_file in case.get("files", []):
        (tmp_path / extra_file["path"]).write_text(extra_file["content"])
    monkeypatch.syspath_prepend(str(tmp_path))
    lines = case["main"].splitlines()
    calls = [line for line in lines if line.startswith("emit_event(")]
    assert calls, "a case without calls checks nothing"
    namespace: dict[str, Any] = {"__name__": f"config_case_{case['case']}"}
    exec("\n".join(line for line in lines if line not in calls), namespace)  # the test's own source
    for call in calls:
        expected_to_fail = "# E:" in call
        try:
            eval(call, namespace)
        except EventValidationError:
            assert expected_to_fail, f"fails at run time, but the plugin accepts it: {call}"
        else:
            assert not expected_to_fail, f"passes at run time, but the plugin reports it: {call}"
    sys.modules.pop("shared_config", None)
