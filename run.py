#!/usr/bin/env python3
"""The project's two entry points; each does its own set-up on a fresh machine.

    python3 run.py demo    # show what canvas-core does
    python3 run.py test    # lint, type-check and run the whole test suite

Set-up: a private virtual environment in ``.cache/bootstrap`` holds uv (pinned
below); uv then creates ``.venv`` from ``uv.lock`` with the interpreter running
this script. Nothing outside the project folder is touched. Further arguments
after ``test`` go to pytest (``python3 run.py test -k origin``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.9"
BOOTSTRAP = ROOT / ".cache" / "bootstrap"
BIN = "Scripts" if os.name == "nt" else "bin"


def _uv() -> Path:
    uv = BOOTSTRAP / BIN / ("uv.exe" if os.name == "nt" else "uv")
    marker = BOOTSTRAP / f"uv-{UV_VERSION}"
    if not marker.exists():
        print(f"run.py: installing uv {UV_VERSION} into {BOOTSTRAP.relative_to(ROOT)}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(BOOTSTRAP)
        _run([str(BOOTSTRAP / BIN / "python"), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"])
        marker.touch()
    return uv


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def sync() -> dict[str, str]:
    """Install the locked environment into .venv; return the environment to run it with."""
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    env.pop("VIRTUAL_ENV", None)
    _run(
        [str(_uv()), "sync", "--locked", "--all-extras", "--all-groups", "--python", sys.executable, "--quiet"],
        env=env,
    )
    env["VIRTUAL_ENV"] = str(ROOT / ".venv")
    env["PATH"] = os.pathsep.join([str(ROOT / ".venv" / BIN), env.get("PATH", "")])
    return env


def demo(args: list[str]) -> None:
    env = sync()
    env["PYTHONPATH"] = str(ROOT / "examples")
    _run([str(ROOT / ".venv" / BIN / "python"), "-m", "demo", *args], env=env)


# CI runs the suite on .venv (the interpreter running this script; Django 5.2 on 3.11) and on this newer
# combination of the matrix in noxfile.py.
NEWER_COMBINATION = "matrix(python='3.12', django='6')"


def test(args: list[str]) -> None:
    env = sync()
    env["PATH"] = os.pathsep.join([str(_uv().parent), env["PATH"]])  # nox sessions install with uv
    venv_bin = ROOT / ".venv" / BIN
    steps = [
        ("ruff", [str(venv_bin / "ruff"), "check", "."]),
        ("ruff format", [str(venv_bin / "ruff"), "format", "--check", "."]),
        ("mypy --strict", [str(venv_bin / "mypy")]),
        ("docs", [str(venv_bin / "sphinx-build"), "-E", "-W", "--keep-going", "-q", "docs", "docs/_build/html"]),
        ("pytest", [str(venv_bin / "python"), "-m", "pytest", *args]),
        (f"pytest on {NEWER_COMBINATION}", [str(venv_bin / "nox"), "-s", NEWER_COMBINATION, "--", *args]),
    ]
    if not args:  # a full run: the mypy plugin's suite again, on the oldest mypy it supports
        oldest = _oldest_supported_mypy()
        steps.append(
            (
                f"mypy plugin on mypy {oldest}",
                [
                    str(_uv()),
                    "run",
                    "--isolated",
                    "--locked",
                    "--all-extras",
                    "--all-groups",
                    "--python",
                    sys.executable,
                    "--with",
                    f"mypy=={oldest}",
                    "python",
                    "-m",
                    "pytest",
                    "tests/mypy_plugin",
                    "-q",
                    "--ignore=tests/mypy_plugin/test_ide.py",
                ],
            )
        )
        # Django's own test suite, without and with canvas_core wired (see noxfile.py, session django_suite).
        steps.append(("Django's own test suite with canvas_core", [str(venv_bin / "nox"), "-s", "django_suite"]))
    for name, command in steps:
        print(f"\n== {name} ==", flush=True)
        _run(command, env=env)
    # The database tests again, on PostgreSQL (skipped, saying why, without a server).
    print("\n== pytest (database tests on PostgreSQL) ==", flush=True)
    postgres = [str(venv_bin / "python"), "-m", "pytest", "-p", "tests.postgres", "-m", "django_db", "-q"]
    _run([*postgres, *args], env=dict(env, CANVAS_TEST_DATABASE="postgres"))


def _oldest_supported_mypy() -> str:
    """The lower bound of the ``mypy`` extra: the oldest mypy the bundled plugin is tested on."""
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["mypy"]
    return next(part.removeprefix("mypy>=") for part in extra[0].split(",") if part.startswith("mypy>="))


def main() -> None:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
