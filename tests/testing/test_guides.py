"""The guide pages of this area run as written: every ```python block, top to bottom, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guide"
PAGES = ["testing.md", "instrumentation.md"]
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """Each python block of ``page`` with the line it starts on."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 2, match.group(1)) for match in _BLOCK.finditer(text)]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.canvas_fail_on_handler_error(False)  # the pages show failing handlers
def test_guide_runs(page: str) -> None:
    path = GUIDES / page
    blocks = python_blocks(path)
    assert blocks, f"{page} has no python blocks"
    namespace: dict[str, object] = {"__name__": "__main__"}
    for line, code in blocks:
        # Pad so that tracebacks and source locations show the page's own line numbers.
        exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)
