"""Run the YAML cases with the mypy installed next to this interpreter.

pytest-mypy-plugins starts ``mypy`` from ``PATH``; a test run started as
``.venv/bin/python -m pytest`` (or by ``uv run --with mypy==X``) must check
with that environment's mypy and plugin, not with whichever comes first.
"""

import os
import sys
from pathlib import Path

os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
