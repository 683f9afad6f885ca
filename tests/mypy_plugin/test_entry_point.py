"""The plugin's entry point, its cache key, and how it ships."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import canvas_core_mypy
import pytest
from mypy.options import Options
from mypy.plugin import ReportConfigContext

ROOT = Path(__file__).parents[2]


def test_entry_point_returns_the_plugin_class() -> None:
    assert canvas_core_mypy.plugin("1.15.0") is canvas_core_mypy.CanvasCorePlugin


def test_version_is_part_of_mypy_cache_key() -> None:
    # mypy compares this value with the one stored in its cache: a new plugin
    # version makes it re-check everything instead of reusing stale results.
    plugin = canvas_core_mypy.CanvasCorePlugin(Options())
    context = ReportConfigContext(id="main", path="main.py", is_check=False)
    assert plugin.report_config_data(context) == {
        "version": canvas_core_mypy.__version__,
        "setting_model": "canvas_core.models.Setting",
    }


def test_configuration_read_is_part_of_mypy_cache_key(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.canvas_core_mypy]\nsetting_model = "myapp.models.TenantSetting"\n')
    options = Options()
    options.config_file = str(config)
    plugin = canvas_core_mypy.CanvasCorePlugin(options)
    context = ReportConfigContext(id="main", path="main.py", is_check=False)
    assert plugin.report_config_data(context)["setting_model"] == "myapp.models.TenantSetting"


def test_plugin_ships_in_the_wheel_and_the_runtime_never_imports_it(tmp_path: Path) -> None:
    uv = ROOT / ".cache" / "bootstrap" / "bin" / "uv"  # installed by run.py
    if not uv.exists():
        pytest.skip("uv is not set up in .cache/bootstrap; run `python3 run.py test` once")
    command = [str(uv), "build", "--wheel", "--python", sys.executable, "--out-dir", str(tmp_path)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    (wheel,) = tmp_path.glob("canvas_core-*.whl")
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    assert "Provides-Extra: mypy" in archive.read(metadata).decode()
    assert "canvas_core_mypy/__init__.py" in names
    assert "canvas_core/events/__init__.py" in names
    runtime_sources = [name for name in names if name.startswith("canvas_core/") and name.endswith(".py")]
    for name in runtime_sources:
        assert "canvas_core_mypy" not in archive.read(name).decode(), name
