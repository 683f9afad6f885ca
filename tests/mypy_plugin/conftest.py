"""Settings for the YAML cases (pytest-mypy-plugins) in this folder.

* They run with the mypy installed next to this interpreter: pytest-mypy-plugins
  starts ``mypy`` from ``PATH``, and a run started as ``.venv/bin/python -m
  pytest`` (or by ``uv run --with mypy==X``) must check with that
  environment's mypy and plugin, not with whichever comes first.
* Their base mypy configuration is ``mypy.ini`` beside this file, unless the
  command line names another.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def pytest_configure(config: pytest.Config) -> None:
    if config.option.mypy_ini_file is None and config.option.mypy_pyproject_toml_file is None:
        config.option.mypy_ini_file = str(Path(__file__).parent / "mypy.ini")
