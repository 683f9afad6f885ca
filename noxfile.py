"""The supported Python x Django matrix: ``nox -s matrix`` (``nox -l`` lists the combinations).

Each session creates a virtual environment for its Python, installs the locked
dependencies into it with ``uv sync --locked``, then the Django series of the
combination, and runs the test suite (arguments after ``--`` go to pytest).
An interpreter that is not installed skips its sessions with a message.

Interpreters are found on ``PATH`` and in pyenv's ``~/.pyenv/versions`` (used
directly, so ``pyenv global`` need not list them). uv must be on ``PATH`` or in
``.cache/bootstrap`` (where ``python3 run.py`` installs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent

# (Python, Django series): Django 5.2 LTS everywhere, Django 6 where Python allows it (3.12+).
COMBINATIONS = [("3.11", "5.2"), ("3.12", "5.2"), ("3.12", "6"), ("3.13", "5.2"), ("3.13", "6")]
DJANGO_REQUIREMENT = {"5.2": "django>=5.2,<5.3", "6": "django>=6,<7"}

nox.options.sessions = ["matrix"]
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = False  # skip with a message, also on CI
nox.options.reuse_venv = "yes"


def _extend_path() -> None:
    # pyenv's shims answer "command not found" for versions that are not active, so put each
    # installed version's own bin directory ahead of them.
    found = [str(ROOT / ".cache" / "bootstrap" / "bin")]
    for version, _ in COMBINATIONS:
        candidates = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"), reverse=True)
        if candidates:
            found.append(str(candidates[0].parent))
    os.environ["PATH"] = os.pathsep.join([*dict.fromkeys(found), os.environ.get("PATH", "")])
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"


_extend_path()


@nox.session
@nox.parametrize(("python", "django"), COMBINATIONS)
def matrix(session: nox.Session, django: str) -> None:
    """Run the test suite on one Python with one Django series."""
    environment = {"UV_PROJECT_ENVIRONMENT": str(session.virtualenv.location)}
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--all-extras",
        "--all-groups",
        "--quiet",
        f"--python={session.virtualenv.location}",
        env=environment,
    )
    session.install(DJANGO_REQUIREMENT[django])
    session.run("python", "-c", "import sys, django; print('Python', sys.version, '/ Django', django.__version__)")
    session.run("python", "-m", "pytest", *session.posargs)
