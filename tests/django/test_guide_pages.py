"""The Django guide pages run as written (the docs suite type-checks them too)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"
PAGES = ["records.md", "settings.md"]


def _python_blocks(page: Path) -> str:
    return "\n\n".join(re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.MULTILINE | re.DOTALL))


@pytest.mark.parametrize("name", PAGES)
def test_page_declares_that_it_needs_django(name: str) -> None:
    assert (GUIDE / name).read_text().startswith("<!-- requires: django -->\n")


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_page_runs(name: str) -> None:
    page = GUIDE / name
    module = types.ModuleType(f"guide_{page.stem}")  # a real module: pydantic looks generics up in it
    sys.modules[module.__name__] = module
    try:
        exec(compile(_python_blocks(page), str(page), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
