"""Every ```python block in the docs and the README runs, and type-checks with the project's mypy settings.

A page's blocks run top to bottom in one fresh module namespace (one test per
page). Pages whose first line is ``<!-- requires: django -->`` run with the
test database available. The type check writes each page's blocks into one
module and runs mypy once over all of them with the ``[tool.mypy]`` settings
of ``pyproject.toml`` (strict, and every plugin configured there).
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")],
    key=lambda path: str(path.relative_to(ROOT)),
)
PAGES = [page for page in PAGES if "_build" not in page.parts]
REQUIRES_DJANGO = "<!-- requires: django -->"
# A fence opening a Python block, up to the fence that closes it (same length or longer).
BLOCK = re.compile(r"^(?P<fence>```+)python[ \t]*\n(?P<code>.*?)^(?P=fence)`*[ \t]*$", re.MULTILINE | re.DOTALL)


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def blocks(page: Path) -> list[tuple[int, str]]:
    """(line number of the block's first line, code) for each ```python block of the page."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start("code")) + 1, match["code"]) for match in BLOCK.finditer(text)]


def as_module(page: Path) -> str:
    """The page's blocks as one module, each block padded to its line in the page so errors point at it."""
    lines: list[str] = []
    for first_line, code in blocks(page):
        lines.extend([""] * (first_line - 1 - len(lines)))
        lines.extend(code.splitlines())
    return "\n".join(lines) + "\n"


def needs_django(page: Path) -> bool:
    return page.read_text(encoding="utf-8").startswith(REQUIRES_DJANGO)


def module_name(page: Path) -> str:
    return "docs_example_" + re.sub(r"\W", "_", page_id(page).removesuffix(".md")).lower()


PAGES_WITH_CODE = [page for page in PAGES if blocks(page)]


@pytest.fixture
def page_module(request: pytest.FixtureRequest) -> Iterator[types.ModuleType]:
    """A fresh module for one page, registered in sys.modules so pydantic can resolve annotations."""
    page: Path = request.param
    module = types.ModuleType(module_name(page))
    module.__file__ = str(page)
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


@pytest.mark.parametrize(
    "page_module",
    [
        pytest.param(page, id=page_id(page), marks=[pytest.mark.django_db] if needs_django(page) else [])
        for page in PAGES_WITH_CODE
    ],
    indirect=True,
)
def test_page_examples_run(page_module: types.ModuleType) -> None:
    page = Path(str(page_module.__file__))
    for first_line, code in blocks(page):
        # Pad so that tracebacks show the line number in the page.
        exec(compile("\n" * (first_line - 1) + code, str(page), "exec"), page_module.__dict__)


def test_page_examples_type_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mypy import api

    files: dict[str, str] = {}
    for page in PAGES_WITH_CODE:
        path = tmp_path / f"{module_name(page)}.py"
        path.write_text(as_module(page), encoding="utf-8")
        files[str(path)] = page_id(page)
    monkeypatch.chdir(ROOT)  # the configuration's paths (mypy_path, Django settings) are relative to it
    stdout, stderr, status = api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", "--show-error-codes", *files]
    )
    report = stdout
    for module_path, name in files.items():
        report = report.replace(module_path, name)  # point at the page; line numbers already match
    assert status == 0, f"mypy found errors in documentation examples:\n{report}{stderr}"


def test_every_page_is_found() -> None:
    names = {page_id(page) for page in PAGES}
    assert {"README.md", "docs/index.md", "docs/guide/events.md"} <= names


def test_block_extraction() -> None:
    page = "intro\n```python\nx = 1\n```\ntext\n````python\ny = '```'\n````\n```text\nnot python\n```\n"
    found = [(match["code"]) for match in BLOCK.finditer(page)]
    assert found == ["x = 1\n", "y = '```'\n"]
