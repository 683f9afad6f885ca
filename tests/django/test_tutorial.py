"""The Django tutorial (docs/guide/django-tutorial.md), performed step by step in an empty directory.

canvas-core comes from its built wheel, installed with its extras into a fresh
virtual environment (uv, with the versions of uv.lock), never from this source
tree. The page's files are written as its code-block captions say; its
console commands run in order, in a shell whose PATH starts with that
environment. Two commands are the test's own: ``pip install`` (the wheel
instead of PyPI's canvas-core) and ``celery ... worker`` (started in the
background, stopped at the end). The worker needs Redis: its broker is a Redis
database of its own (``CANVAS_TUTORIAL_REDIS_URL``, default db 13 on
127.0.0.1).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guide" / "django-tutorial.md"
REDIS_URL = os.environ.get("CANVAS_TUTORIAL_REDIS_URL", "redis://127.0.0.1:6379/13")

CONSOLE = re.compile(r"^```console\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
CODE = re.compile(
    r"^```\{code-block\} \w+\n:caption: (?P<caption>[^\n]+)\n\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL
)
APPEND = " (add at the end)"


@dataclass(frozen=True)
class Step:
    kind: str  # "run", "write" or "append"
    text: str  # the command, or the file's contents
    path: str = ""


def tutorial_steps(page: Path = PAGE) -> list[Step]:
    """The page's commands and files, in the order they appear."""
    text = page.read_text(encoding="utf-8")
    found: list[tuple[int, Step]] = []
    for match in CONSOLE.finditer(text):
        for line in match["body"].splitlines():
            if line.startswith("$ "):
                found.append((match.start(), Step("run", line[2:])))
    for match in CODE.finditer(text):
        caption = match["caption"]
        if caption.endswith(APPEND):
            found.append((match.start(), Step("append", match["code"], caption.removesuffix(APPEND))))
        else:
            found.append((match.start(), Step("write", match["code"], caption)))
    return [step for _, step in sorted(found, key=lambda item: item[0])]


def test_the_page_parses_into_the_expected_steps() -> None:
    """Guards the parser: a reworded page must still be performed, not silently skipped."""
    steps = tutorial_steps()
    assert [step.path for step in steps if step.kind != "run"] == [
        "mysite/settings.py",
        "library/models.py",
        "library/handlers.py",
        "mysite/celery.py",
        "mysite/__init__.py",
        "mysite/settings.py",
        "pytest.ini",
        "library/test_books.py",
    ]
    commands = [step.text.split()[0] for step in steps if step.kind == "run"]
    assert commands[0] == "pip"
    assert "celery" in commands
    assert commands[-1] == "python"


def _uv() -> str:
    for candidate in (ROOT / ".cache" / "bootstrap" / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.skip("uv is not available: run `python3 run.py test` once (it installs uv into .cache/bootstrap)")


def _redis_is_up() -> bool:
    url = urlparse(REDIS_URL)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=2):
            return True
    except OSError:
        return False


class Project:
    """The tutorial's directory and virtual environment."""

    def __init__(self, directory: Path, venv: Path) -> None:
        self.directory = directory
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VIRTUAL_ENV", "PYTHON"))},
            "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "VIRTUAL_ENV": str(venv),
            "CELERY_BROKER_URL": REDIS_URL,
        }
        self.workers: list[subprocess.Popen[str]] = []
        self.drains: list[threading.Thread] = []

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command, shell=True, cwd=self.directory, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"$ {command}\n{result.stdout}\n{result.stderr}"
        return result

    def start_worker(self, command: str) -> None:
        # -P solo: one process, so that stopping it stops everything.
        worker = subprocess.Popen(
            [*shlex.split(command), "-P", "solo", "--without-gossip", "--without-mingle"],
            cwd=self.directory,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.workers.append(worker)
        assert worker.stdout is not None
        seen: list[str] = []
        for line in worker.stdout:  # Celery prints "... ready." once it consumes
            seen.append(line)
            if " ready." in line:
                # Keep reading, so that a full pipe never blocks the worker.
                drain = threading.Thread(target=worker.stdout.read, daemon=True)
                drain.start()
                self.drains.append(drain)
                return
        raise AssertionError("the Celery worker stopped before it was ready:\n" + "".join(seen))

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()
        for drain in self.drains:
            drain.join()
        for worker in self.workers:
            assert worker.stdout is not None
            worker.stdout.close()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    if not _redis_is_up():
        pytest.skip(f"the tutorial's Celery step needs Redis at {REDIS_URL}, which does not answer")
    uv = _uv()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    wheels, venv, directory = tmp_path / "wheels", tmp_path / "venv", tmp_path / "tutorial"
    subprocess.run(
        [uv, "build", "--wheel", "--python", sys.executable, "--out-dir", str(wheels)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("canvas_core-*.whl")
    constraints = tmp_path / "constraints.txt"  # the versions the project is tested with
    export = ["export", "--frozen", "--no-hashes", "--all-extras", "--group", "dev", "--no-emit-project", "-q"]
    subprocess.run(
        [uv, *export, "-o", str(constraints)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], env=env, check=True)
    packages = [f"{wheel}[django,celery]", "pytest", "pytest-django"]
    installed = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-c", str(constraints), *packages],
        env=env,
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0 and re.search(r"(?i)network|connect|dns|offline", installed.stderr):
        pytest.skip(f"cannot reach the package index to install the wheel's dependencies:\n{installed.stderr}")
    assert installed.returncode == 0, installed.stderr
    directory.mkdir()
    tutorial = Project(directory, venv)
    try:
        yield tutorial
    finally:
        tutorial.stop_workers()


def test_the_tutorial_works_from_the_wheel(project: Project) -> None:
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    for step in tutorial_steps():
        if step.kind == "write":
            (project.directory / step.path).write_text(step.text, encoding="utf-8")
        elif step.kind == "append":
            with (project.directory / step.path).open("a", encoding="utf-8") as file:
                file.write("\n" + step.text)
        elif step.text.startswith("pip install"):
            continue  # done by the fixture, from the wheel
        elif step.text.startswith("celery ") and " worker" in step.text:
            project.start_worker(step.text)
        else:
            outputs[step.text] = project.run(step.text)
    _check(project, outputs)


def _output_of(outputs: dict[str, subprocess.CompletedProcess[str]], *words: str) -> subprocess.CompletedProcess[str]:
    (found,) = [result for command, result in outputs.items() if all(word in command for word in words)]
    return found


def _last_line(output: str) -> str:
    """What the command printed last (Django 6's shell first says what it imported)."""
    return output.strip().rpartition("\n")[2]


def _check(project: Project, outputs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    # Step 3: the first book; its after_commit handler logged a JSON line (not a terminal), count_books ran.
    created = _output_of(outputs, "Dune")
    logged = [json.loads(line) for line in created.stderr.splitlines() if line.startswith("{")]
    announced = [line for line in logged if line["event"] == "A book was added."]
    assert len(announced) == 1, created.stderr
    assert announced[0]["logger"] == "library.handlers"
    assert announced[0]["level"] == "info"
    assert _last_line(_output_of(outputs, "print(repr(").stdout) == "'Dune' 1"
    listing = _output_of(outputs, "canvas_events").stdout
    assert "library.handlers.announce [after_commit]" in listing
    assert "library.handlers.count_books [background]" in listing
    # Step 6: the worker counted the second book.
    count = "from canvas_core import config; print(config.get_setting('books_added'))"
    deadline = time.monotonic() + 60
    while _last_line(project.run(f'python manage.py shell -c "{count}"').stdout) != "2":
        assert time.monotonic() < deadline, "the Celery worker did not run count_books within 60 s"
        time.sleep(0.5)
    # Step 7: the tutorial's own tests.
    assert "4 passed" in _output_of(outputs, "pytest").stdout
