"""Sphinx configuration: MyST Markdown pages, furo theme, autodoc for the API reference.

Built by ``python3 run.py test`` with ``sphinx-build -W --keep-going`` (warnings are errors).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.django_settings, for autodoc of Django-aware modules
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_settings")

try:  # modules with Django integration need the app registry to import
    import django

    django.setup()
except ImportError:
    pass

from canvas_core import __version__  # noqa: E402

project = "canvas-core"
author = "canvas-core maintainers"
copyright = "canvas-core maintainers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "README.md"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "canvas-core"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Pydantic's own members (model_dump, model_validate, ...) are documented by pydantic.
autodoc_inherit_docstrings = False

# No network while building: cross-references to other projects stay plain text.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
