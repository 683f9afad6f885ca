"""The mypy plugin on real pydantic code it has never seen: same errors, and what it costs.

The sources of FastAPI and pydantic-settings (installed from PyPI by the
``bench`` group) are copied into a folder and checked by mypy with a cold
cache, beside ``pydantic.mypy``, once without canvas-core's plugin and once
with it. The errors must be identical (the plugin claims nothing that is not
an event); the times give the ratio (goal: at most 1.05x). Run either way::

    .venv/bin/python tests/benchmarks/test_mypy_plugin_real_code.py
    .venv/bin/python -m pytest tests/benchmarks/test_mypy_plugin_real_code.py -p no:randomly --benchmark-only
"""

from __future__ import annotations

import importlib.util
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

PACKAGES = ("fastapi", "pydantic_settings")
BASE_PLUGINS = "pydantic.mypy"


def copy_sources(root: Path) -> list[str]:
    """Copy each package's sources into ``root``, as a project of its own; return the package names."""
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.submodule_search_locations is None:
            pytest.skip(f"{package} is not installed (it comes with the bench dependency group)")
        shutil.copytree(next(iter(spec.submodule_search_locations)), root / package)
    return list(PACKAGES)


def mypy_cold(root: Path, packages: list[str], *, plugin: bool) -> tuple[float, list[str]]:
    """CPU seconds of one mypy run with an empty cache, and the errors it reported.

    CPU time (user and system, of the mypy process), not wall-clock time: on
    a shared machine the wall clock measures the neighbours as much as mypy.
    """
    plugins = f"{BASE_PLUGINS}, canvas_core_mypy" if plugin else BASE_PLUGINS
    with tempfile.TemporaryDirectory() as cache:
        (root / "mypy.ini").write_text(
            f"[mypy]\nplugins = {plugins}\ncache_dir = {cache}\nignore_missing_imports = True\n"
            "follow_imports = silent\n"
        )
        arguments = [arg for package in packages for arg in ("-p", package)]
        started = _children_cpu_time()
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-error-summary", *arguments],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = _children_cpu_time() - started
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return elapsed, sorted(line for line in result.stdout.splitlines() if ": error:" in line)


def _children_cpu_time() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("mypy-plugin-real-code")
    return root, copy_sources(root)


def test_same_errors_with_and_without_the_plugin(project: tuple[Path, list[str]]) -> None:
    root, packages = project
    _, without = mypy_cold(root, packages, plugin=False)
    _, with_plugin = mypy_cold(root, packages, plugin=True)
    assert with_plugin == without


@pytest.mark.parametrize("plugin", [False, True], ids=["without-plugin", "with-plugin"])
def test_mypy_cold_cache_on_real_code(benchmark: Any, project: tuple[Path, list[str]], plugin: bool) -> None:
    root, packages = project
    benchmark.group = f"mypy cold cache on {', '.join(PACKAGES)} beside {BASE_PLUGINS}"
    benchmark.pedantic(mypy_cold, args=(root, packages), kwargs={"plugin": plugin}, rounds=3, iterations=1)


def main(rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        packages = copy_sources(root)
        lines = sum(len(path.read_text().splitlines()) for path in root.rglob("*.py"))
        mypy_cold(root, packages, plugin=False)  # warm the OS file cache
        without: list[float] = []
        with_plugin: list[float] = []
        errors: dict[bool, list[str]] = {}
        for _ in range(rounds):  # interleaved, best of each
            for plugin, times in ((False, without), (True, with_plugin)):
                elapsed, errors[plugin] = mypy_cold(root, packages, plugin=plugin)
                times.append(elapsed)
    print(f"mypy, cold cache, {' + '.join(PACKAGES)} ({lines:,} lines), beside {BASE_PLUGINS}")
    print(f"  errors without the plugin: {len(errors[False])}, with it: {len(errors[True])}")
    for line in sorted(set(errors[False]) ^ set(errors[True])):
        print(f"  {'only with' if line in errors[True] else 'only without'} the plugin: {line}")
    print(f"  without plugin: {min(without):.2f} s CPU  (runs: {', '.join(f'{t:.2f}' for t in without)})")
    print(f"  with plugin:    {min(with_plugin):.2f} s CPU  (runs: {', '.join(f'{t:.2f}' for t in with_plugin)})")
    print(f"  ratio: {min(with_plugin) / min(without):.3f}x (goal: <= 1.05x)")


if __name__ == "__main__":
    main()
