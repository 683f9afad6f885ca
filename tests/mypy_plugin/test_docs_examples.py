"""The errors the documentation shows are the errors mypy reports.

``tests/docs/test_examples.py`` checks that every example type-checks clean
under the project's configuration (the plugin included). Here, the ``text``
blocks of a guide page that list ``emit_event`` calls and their errors are
checked: each call is appended to the page's code and must give exactly the
errors written under it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs" / "guide").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(page: Path, language: str) -> list[str]:
    return [body for kind, body in FENCE.findall(page.read_text()) if kind == language]


def _documented_calls(page: Path) -> list[tuple[str, list[str]]]:
    """``(call, expected errors)`` pairs from text blocks that start with an emit_event call."""
    pairs: list[tuple[str, list[str]]] = []
    for block in _blocks(page, "text"):
        if not block.startswith("emit_event("):
            continue
        for line in block.splitlines():
            if line.startswith("  error: "):
                pairs[-1][1].append(line.removeprefix("  error: "))
            else:
                pairs.append((line, []))
    return pairs


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy_errors(source: str, folder: Path, cache: Path) -> list[str]:
    page = folder / "page.py"
    page.write_text(source)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--cache-dir", str(cache), str(page)],
        cwd=ROOT,  # django-stubs' plugin imports the test settings from here
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return [line.replace(str(page), "page.py") for line in result.stdout.splitlines() if ": error:" in line]


@pytest.mark.parametrize("page", [page for page in PAGES if _documented_calls(page)], ids=lambda page: page.name)
def test_documented_errors_are_what_mypy_reports(page: Path, tmp_path: Path, cache: Path) -> None:
    code = "\n\n".join(_blocks(page, "python"))
    calls = _documented_calls(page)
    source = code + "\n\n" + "".join(f"{call}\n" for call, _ in calls)
    first_call_line = len(code.splitlines()) + 3

    expected = [
        f"page.py:{first_call_line + index}: error: {error}"
        for index, (_, errors) in enumerate(calls)
        for error in errors
    ]
    assert _mypy_errors(source, tmp_path, cache) == expected
