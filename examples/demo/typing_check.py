"""Demo section: mypy, with the bundled plugin, catches a wrong emit_event call before it runs."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from ._output import section

EXAMPLE = textwrap.dedent(
    """\
    from collections import defaultdict
    from typing import Any

    from canvas_core.events import Event, emit_event


    class SignupFormSubmitted(Event):
        email: str
        password: str
        error_messages: defaultdict[str, list[str]]

        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.error_messages = defaultdict(list)


    emit_event(SignupFormSubmitted, email="ada@example.com", password="correct horse")
    emit_event(SignupFormSubmitted, email=42, pasword="hunter2")
    """
)


class MypyRun:
    """mypy checking the example in a child process, started early so that the demo need not wait for it."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        folder = _CACHE
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only checkout: no cache, only slower
            self._folder = tempfile.TemporaryDirectory(prefix="canvas-demo-mypy-")
            folder = Path(self._folder.name)
        self.example = folder / "signup.py"
        self.example.write_text(EXAMPLE)
        config = folder / "mypy.ini"
        config.write_text("[mypy]\nstrict = True\nplugins = canvas_core_mypy\n")
        # Run in the folder, so that mypy names the file signup.py.
        command = [sys.executable, "-m", "mypy", "--config-file", config.name, "--cache-dir", "cache", "signup.py"]
        self.process = subprocess.Popen(
            command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def report(self) -> tuple[str, int]:
        """mypy's output and exit status (waits for it to finish)."""
        output, _ = self.process.communicate()
        if self._folder is not None:
            self._folder.cleanup()
        return output, self.process.returncode


# mypy's cache makes every run after the first fast; .cache/ is the checkout's (ignored by git).
_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "demo-mypy"


def start() -> MypyRun:
    """Start checking the example now; :func:`run` shows the result."""
    return MypyRun()


def run(started: MypyRun | None = None) -> None:
    section("Type checking: mypy with the bundled plugin catches a wrong emit_event call")
    mypy_run = started or start()
    if mypy_run.process.poll() is None:
        print("(mypy was started in the background when the demo began; waiting for it to finish...)", flush=True)
    report, status = mypy_run.report()
    print("signup.py, line 18 (SignupFormSubmitted has its own __init__, so only the plugin sees this):")
    print("  emit_event(SignupFormSubmitted, email=42, pasword='hunter2')")
    print(f"mypy (exit status {status}) says:")
    for line in report.splitlines():
        print(f"  {line}")
