"""What the mypy plugin costs: mypy on a generated project, cold cache, with and without it.

The project has 200 event classes (with inheritance, defaults, a generic
parent and custom ``__init__``s) and 2,000 ``emit_event`` calls. Run either
way; the script prints the ratio (goal: at most 1.3x)::

    .venv/bin/python tests/benchmarks/test_mypy_plugin_speed.py
    .venv/bin/python -m pytest tests/benchmarks/test_mypy_plugin_speed.py -p no:randomly --benchmark-only
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

EVENT_MODULES = 10
EVENTS_PER_MODULE = 20  # 200 event classes
CALLER_MODULES = 20
CALLS_PER_MODULE = 100  # 2,000 emit_event calls


def _event_module(index: int) -> str:
    lines = [
        "from collections import defaultdict",
        "from typing import Any",
        "from pydantic import Field",
        "from canvas_core.events import Event, PostRecordUpdate",
        "",
        "class Record:",
        "    name: str = ''",
        "",
    ]
    for number in range(EVENTS_PER_MODULE):
        name = f"Event{index}_{number}"
        kind = number % 4
        if kind == 0:
            lines += [
                f"class {name}(Event):",
                "    message: str",
                "    count: int = 0",
                "    tags: list[str] = Field(default_factory=list)",
            ]
        elif kind == 1:
            lines += [f"class {name}(Event{index}_{number - 1}):", "    level: int"]
        elif kind == 2:
            lines += [f"class {name}(PostRecordUpdate[Record]):", "    reason: str = Field(default='edit')"]
        else:
            lines += [
                f"class {name}(Event):",
                "    email: str",
                "    errors: defaultdict[str, list[str]]",
                "    def __init__(self, **attrs: Any) -> None:",
                "        super().__init__(**attrs)",
                "        self.errors = defaultdict(list)",
            ]
        lines.append("")
    return "\n".join(lines)


_CALLS = {
    0: "emit_event({cls}, message='hi', count={n})",
    1: "emit_event({cls}, message='hi', level={n})",
    2: "emit_event({cls}, record=events{module}.Record(), diff={{}})",
    3: "emit_event({cls}, email='ada@example.com')",
}


def _caller_module(index: int) -> str:
    lines = ["from canvas_core.events import emit_event"]
    lines += [f"import events{module}" for module in range(EVENT_MODULES)]
    lines += ["", "def run() -> None:"]
    for call in range(CALLS_PER_MODULE):
        module = (index + call) % EVENT_MODULES
        number = call % EVENTS_PER_MODULE
        cls = f"events{module}.Event{module}_{number}"
        lines.append("    " + _CALLS[number % 4].format(cls=cls, n=call, module=module))
    return "\n".join(lines) + "\n"


def generate_project(root: Path) -> list[str]:
    """Write the project into ``root``; return the file names to check."""
    files = []
    for index in range(EVENT_MODULES):
        (root / f"events{index}.py").write_text(_event_module(index))
        files.append(f"events{index}.py")
    for index in range(CALLER_MODULES):
        (root / f"caller{index}.py").write_text(_caller_module(index))
        files.append(f"caller{index}.py")
    return files


def mypy_cold(root: Path, files: list[str], *, plugin: bool) -> float:
    """Seconds for one mypy run with an empty cache; fails if mypy reports anything."""
    with tempfile.TemporaryDirectory() as cache:
        plugins = "canvas_core_mypy" if plugin else ""
        (root / "mypy.ini").write_text(f"[mypy]\nstrict = True\nplugins = {plugins}\ncache_dir = {cache}\n")
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", *files],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    return elapsed


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("mypy-plugin-speed")
    return root, generate_project(root)


@pytest.mark.parametrize("plugin", [False, True], ids=["without-plugin", "with-plugin"])
def test_mypy_cold_cache(benchmark: Any, project: tuple[Path, list[str]], plugin: bool) -> None:
    root, files = project
    benchmark.group = "mypy cold cache, 200 events, 2,000 emit_event calls"
    benchmark.pedantic(mypy_cold, args=(root, files), kwargs={"plugin": plugin}, rounds=3, iterations=1)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = generate_project(root)
        mypy_cold(root, files, plugin=True)  # warm the OS file cache, check the project is clean
        without, with_plugin = [], []
        for _ in range(5):  # interleaved, best of five each
            without.append(mypy_cold(root, files, plugin=False))
            with_plugin.append(mypy_cold(root, files, plugin=True))
    print(f"mypy, cold cache, {EVENT_MODULES * EVENTS_PER_MODULE} events, {CALLER_MODULES * CALLS_PER_MODULE} calls")
    print(f"  without plugin: {min(without):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in without)})")
    print(f"  with plugin:    {min(with_plugin):.2f} s  (runs: {', '.join(f'{t:.2f}' for t in with_plugin)})")
    print(f"  ratio: {min(with_plugin) / min(without):.2f}x (goal: <= 1.3x)")


if __name__ == "__main__":
    main()
