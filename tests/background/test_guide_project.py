"""The background guide, followed literally: a new ``startproject`` project, from the built wheel, real worker.

The files the guide shows are taken from ``docs/guide/background.md`` itself
(its ``{code-block} python`` blocks, in order), so the test follows the page as
it is. What the test adds is what any project has of its own: a model, a
handler body, the broker of this machine and a queue name of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from .conftest import ROOT, delete_queue, wait_for

GUIDE = ROOT / "docs" / "guide" / "background.md"
UV_CANDIDATES = (ROOT / ".cache" / "bootstrap" / "bin" / "uv",)


def guide_files() -> list[str]:
    """The ``{code-block} python`` blocks of the guide's Django set-up section, dedented, in order."""
    section = GUIDE.read_text().split("## With Django: the complete set-up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\{code-block\} python\n(.*?)```", section, re.DOTALL)
    return [textwrap.dedent(block) for block in blocks]


@pytest.fixture(scope="session")
def project_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the wheel built from this checkout, and its Django and Celery extras."""
    uv = next((str(path) for path in UV_CANDIDATES if path.exists()), shutil.which("uv"))
    if uv is None:
        pytest.skip("uv is needed to build the wheel; run `python3 run.py test` once to set it up")
    where = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [uv, "build", "--wheel", "--python", sys.executable, "--out-dir", str(where)], cwd=ROOT, check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = where.glob("canvas_core-*.whl")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(where / "venv")], check=True)
    python = where / "venv" / "bin" / "python"
    constraints = where / "constraints.txt"  # the versions the project is tested with (uv.lock)
    subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--all-extras", "--no-emit-project", "-q", "-o", str(constraints)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    installed = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), "-c", str(constraints),
         f"canvas-core[django,celery] @ {wheel.as_uri()}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if installed.returncode and re.search(r"(?i)network|connect|dns|offline", installed.stderr):
        pytest.skip(f"cannot reach the package index to install the wheel's dependencies: {installed.stderr[:300]}")
    assert installed.returncode == 0, installed.stderr
    return python


def run(python: Path, project: Path, *arguments: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(python), *arguments], cwd=project, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, f"{arguments} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture
def project(project_python: Path, broker_url: str, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """``django-admin startproject mysite`` plus ``startapp library``, set up as the guide says."""
    queue = f"canvas-guide-{uuid.uuid4().hex[:10]}"
    out = tmp_path / "handled-by"
    # The project's own environment: nothing of this checkout's (no settings module, no source path).
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GUIDE_OUT": str(out), "LANG": "C.UTF-8"}
    root = tmp_path / "mysite"
    root.mkdir()
    run(project_python, root, "-m", "django", "startproject", "mysite", ".", env=env)
    run(project_python, root, "manage.py", "startapp", "library", env=env)

    celery_module, package_init, settings_fragment, handlers = guide_files()
    (root / "mysite" / "celery.py").write_text(celery_module)
    (root / "mysite" / "__init__.py").write_text(package_init)
    fragment = settings_fragment.replace("redis://127.0.0.1:6379/0", broker_url)
    installed = re.search(r"INSTALLED_APPS = \[(.*?)\]", fragment, re.DOTALL)
    assert installed is not None
    apps = re.findall(r'"([\w.]+)"', installed.group(1))
    fragment = fragment.replace(installed.group(0), f"INSTALLED_APPS += {apps!r}")
    with (root / "mysite" / "settings.py").open("a") as settings:
        settings.write("\n" + fragment + f"\nCELERY_TASK_DEFAULT_QUEUE = {queue!r}  # not the shared 'celery' queue\n")
    (root / "library" / "models.py").write_text(
        "from django.db import models\n\n\nclass Book(models.Model):\n    title = models.CharField(max_length=100)\n"
    )
    body = (
        '    with open(os.environ["GUIDE_OUT"], "w") as out:\n'
        '        out.write(f"{os.getpid()} {event.record.title}")\n'
    )
    assert "    ...\n" in handlers
    (root / "library" / "handlers.py").write_text("import os\n" + handlers.replace("    ...\n", body))
    run(project_python, root, "manage.py", "makemigrations", "library", "-v", "0", env=env)
    run(project_python, root, "manage.py", "migrate", "-v", "0", env=env)
    try:
        yield root, env
    finally:
        delete_queue(broker_url, queue)


def test_the_guide_followed_literally_runs_the_handler_in_the_worker(
    project: tuple[Path, dict[str, str]], project_python: Path, redis_client: redis.Redis
) -> None:
    root, env = project
    assert "System check identified no issues" in run(project_python, root, "manage.py", "check", env=env)

    celery = project_python.parent / "celery"
    log = root / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [str(celery), "-A", "mysite", "worker", "--loglevel=INFO", "--concurrency=1", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: " ready." in log.read_text() or worker.poll() is not None, 60, "the guide's worker to start")
        assert worker.poll() is None, log.read_text()

        shell = (
            "import os\n"
            "from django.db import transaction\n"
            "from canvas_core import background\n"
            "from library.models import Book\n"
            "print('engine:', type(background.current_engine()).__name__, os.getpid())\n"
            "book = Book.objects.create(title='draft')\n"
            "with transaction.atomic():\n"
            "    book.title = 'Dune'\n"
            "    book.save()\n"
        )
        printed = run(project_python, root, "manage.py", "shell", "-c", shell, env=env)
        engine, web_pid = printed.split("engine: ", 1)[1].split()[:2]
        assert engine == "CeleryEngine"  # from the setting, with no call in the project's code

        out = Path(env["GUIDE_OUT"])
        handled = wait_for(
            lambda: out.exists() and out.read_text(), 60, lambda: f"the handler; the worker logged:\n{log.read_text()}"
        )
        pid, title = handled.split()
        assert title == "Dune"
        assert pid != web_pid  # it ran in the worker, not in the web process
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
